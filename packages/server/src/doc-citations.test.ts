// Reads every file git holds in the repository (tracked, or new and not ignored) and checks
// that none cites a guide outside it, that every docs/*.md path cited exists, and that every
// section cited in docs/design.md or docs/style.md is a heading of that page.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** This file sits in packages/server/src (or dist), three levels below the repository root. */
const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Files larger than this are data, not text anyone cites from (the lock file is ~200 KB). */
const citingFileBytesMax = 1024 * 1024;

/**
 * Citations of guides that live outside the repository. Built from parts so that this
 * file does not cite them itself; `TIGER_STYLE.md` (TigerBeetle's guide) is not one.
 */
const outsideGuides: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: ['..', 'shared'].join('/'), pattern: /\.\.\/shared\b/ },
  ...['DESIGN', 'STYLE'].map((guide) => ({ name: `${guide}.md`, pattern: new RegExp(`(?<![A-Za-z0-9_])${guide}\\.md`) })),
];

/** A docs page cited by its repository path (not `packages/dashboard/docs/...`). */
const docsPathPattern = /(?<![\w./-])docs\/([A-Za-z0-9_-]+\.md)/g;

/**
 * A section of design.md or style.md, cited as the page's path, a comma and the heading in
 * double quotes. The quoted heading may wrap onto the next comment line.
 */
const sectionCitationPattern = /(?<![\w./-])docs\/(design|style)\.md,?(?:\s|\/\/|\*)*"([^"]{1,160})"/g;

/** The outside guides' numbered principles and rules; the repository's pages are cited by heading. */
const numberedCitationPattern = /(?<![\w./-])docs\/(design|style)\.md,? (?:principle|rule) \d+/g;

interface TextFile {
  path: string;
  text: string;
}

/** The repository's files as git sees them: tracked ones, and new ones it does not ignore. */
function repositoryFiles(): TextFile[] {
  const listing = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const files: TextFile[] = [];
  for (const path of new Set(listing.split('\0'))) {
    const absolute = join(repositoryRoot, path);
    // A tracked file deleted in the working tree is still listed until the deletion is committed.
    if (path === '' || !existsSync(absolute) || !statSync(absolute).isFile() || statSync(absolute).size > citingFileBytesMax) continue;
    const text = readFileSync(absolute, 'utf8');
    if (text.includes('\0')) continue; // binary (images)
    files.push({ path, text });
  }
  return files;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Every heading of a markdown page, without its leading #s. */
function headingsOf(markdown: string): Set<string> {
  const headings = new Set<string>();
  for (const line of markdown.split('\n')) {
    const match = /^#{1,6}\s+(.+?)\s*$/.exec(line);
    if (match?.[1] !== undefined) headings.add(match[1]);
  }
  return headings;
}

/** A quoted section name as written, joined back into one line if a comment wrapped it. */
function sectionName(quoted: string): string {
  return quoted.replace(/\s*\n\s*(?:\/\/|\*)?\s*/g, ' ').trim();
}

describe('citations in the repository', () => {
  const files = repositoryFiles();

  it('reads the whole repository', () => {
    // A listing that came back nearly empty would make every check below pass vacuously.
    assert.ok(files.length > 200, `only ${files.length} files were read from ${repositoryRoot}`);
    assert.ok(files.some((file) => file.path === 'docs/design.md') && files.some((file) => file.path === 'docs/style.md'), 'docs/design.md and docs/style.md must be in the repository');
  });

  it('cites no guide that lives outside the repository', () => {
    const offenders: string[] = [];
    for (const file of files) {
      for (const guide of outsideGuides) {
        const match = guide.pattern.exec(file.text);
        if (match !== null) offenders.push(`${file.path}:${lineOf(file.text, match.index)} cites ${guide.name}`);
      }
    }
    assert.deepEqual(offenders, [], `cite docs/design.md or docs/style.md (with the section) instead:\n  ${offenders.join('\n  ')}`);
  });

  it('cites only docs pages that exist', () => {
    const missing: string[] = [];
    for (const file of files) {
      for (const match of file.text.matchAll(docsPathPattern)) {
        const page = match[1] as string;
        if (!existsSync(join(repositoryRoot, 'docs', page))) missing.push(`${file.path}:${lineOf(file.text, match.index)} cites docs/${page}, which does not exist`);
      }
    }
    assert.deepEqual(missing, [], `point these at an existing page under docs/, or write the page:\n  ${missing.join('\n  ')}`);
  });

  it('cites only sections that docs/design.md and docs/style.md have', () => {
    const headings = new Map(['design', 'style'].map((page) => [page, headingsOf(readFileSync(join(repositoryRoot, 'docs', `${page}.md`), 'utf8'))]));
    const unknown: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const match of file.text.matchAll(sectionCitationPattern)) {
        const page = match[1] as string;
        const section = sectionName(match[2] as string);
        checked++;
        if (!headings.get(page)?.has(section)) unknown.push(`${file.path}:${lineOf(file.text, match.index)} cites docs/${page}.md, "${section}", which is no heading there`);
      }
    }
    for (const file of files) {
      for (const match of file.text.matchAll(numberedCitationPattern)) {
        unknown.push(`${file.path}:${lineOf(file.text, match.index)} cites "${match[0]}": the page has no numbered principles or rules, cite its heading`);
      }
    }
    assert.ok(checked > 20, `only ${checked} section citations were found: the pattern no longer matches how comments cite`);
    assert.deepEqual(unknown, [], `cite a heading of the page as written (or rename the heading and its citations together):\n  ${unknown.join('\n  ')}`);
  });
});
