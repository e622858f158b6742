// A fetch that trusts the cluster's own CA (docs/security.md "TLS"): the CLI (`--ca`,
// RINGKV_CA) and nodes calling each other's API talk HTTPS to certificates that no public
// CA signed. Node's global fetch cannot be given a CA per call, so this uses undici's own
// fetch with an Agent whose TLS connector trusts the given CA. The system's CAs are not
// added: a ringkv cluster's certificates come from its CA only, and trusting only it means
// a certificate from anywhere else is refused.
// undici is loaded on the first call that needs it: a node or command without a CA never
// pays for loading it (about a twentieth of a node's start).

export interface ClientCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The global fetch when there is no CA; otherwise a fetch whose HTTPS connections trust
 * `caPem` (and present `clientCertificate`, if given, for servers that ask for one).
 */
export function fetchTrusting(caPem?: string | Buffer, clientCertificate?: ClientCertificate): typeof fetch {
  if (caPem === undefined) return (input, init) => globalThis.fetch(input, init);
  let loaded: Promise<{ undici: typeof import('undici'); dispatcher: import('undici').Agent }> | undefined;
  const trustingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    loaded ??= import('undici').then((undici) => ({ undici, dispatcher: new undici.Agent({ connect: { ca: caPem, ...(clientCertificate ?? {}) } }) }));
    const { undici, dispatcher } = await loaded;
    // undici's fetch knows only its own Request class; a platform Request is unpacked
    // into a URL and init so callers may pass either.
    const [target, unpacked] = input instanceof Request ? [input.url, requestInit(input)] : [input, {}];
    return (await undici.fetch(target, { ...unpacked, ...init, dispatcher } as Parameters<typeof undici.fetch>[1])) as unknown as Response;
  };
  return trustingFetch as typeof fetch;
}

function requestInit(request: Request): RequestInit & { duplex?: 'half' } {
  return {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    redirect: request.redirect,
    ...(request.body === null ? {} : { body: request.body, duplex: 'half' }),
  };
}
