// The few calls `ringkv backup`, `restore`, `export` and `import` make to one node that the
// typed client has no method for (GET /admin/backup-cut, GET /admin/records, POST
// /admin/restore, GET /cluster/keys with values): plain fetch with the command's token and
// CA, and the node's problem+json turned into the client's RingkvError, whose status the
// exit code table of exit-codes.ts reads.
import { errorOfProblem, type Problem } from '@ringkv/client';
import { nodeUrl, type ApiTarget } from '../ring-commands.js';
import { fetchTrusting } from '../security/trusted-fetch.js';

export interface AdminAnswer<T> {
  status: number;
  body: T;
  headers: Pick<Headers, 'get'>;
}

export interface AdminApi {
  /** The node's base URL, for messages. */
  readonly baseUrl: string;
  /** GET `path`; any answer but 2xx throws the node's problem as a RingkvError. */
  get<T>(path: string): Promise<T>;
  /** POST `body` as JSON; an answer among `accepted` statuses is returned (its problem body parsed), any other non-2xx throws. */
  post<T>(path: string, body: unknown, accepted?: readonly number[]): Promise<AdminAnswer<T>>;
}

export function adminApiFor(target: ApiTarget): AdminApi {
  const baseUrl = nodeUrl(target.node, target.caPem !== undefined);
  const fetchImpl = fetchTrusting(target.caPem);
  const timeoutMs = target.timeoutMs ?? 30_000;
  const headers = (json: boolean): Record<string, string> => ({
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
    ...(json ? { 'content-type': 'application/json' } : {}),
  });
  const answer = async <T>(response: Response, accepted: readonly number[]): Promise<AdminAnswer<T>> => {
    const text = await response.text();
    if (response.ok || accepted.includes(response.status)) return { status: response.status, body: JSON.parse(text) as T, headers: response.headers };
    throw errorOfProblem(problemOfText(text, response), response.headers);
  };
  return {
    baseUrl,
    async get<T>(path: string) {
      const response = await fetchImpl(`${baseUrl}${path}`, { headers: headers(false), signal: AbortSignal.timeout(timeoutMs) });
      return (await answer<T>(response, [])).body;
    },
    async post<T>(path: string, body: unknown, accepted: readonly number[] = []) {
      const init = { method: 'POST', headers: headers(true), body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) };
      return answer<T>(await fetchImpl(`${baseUrl}${path}`, init), accepted);
    },
  };
}

function problemOfText(text: string, response: Response): Problem {
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (typeof parsed.title === 'string') return { type: 'about:blank', detail: '', ...parsed, status: response.status } as Problem;
  } catch {
    // Not JSON (a proxy's page, say): described below.
  }
  return { type: 'about:blank', title: response.statusText || 'Request failed', status: response.status, detail: `${response.status} ${text.slice(0, 300)}` };
}
