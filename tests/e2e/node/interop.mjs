// Interoperability check: the certified relying-party library openid-client
// (panva) against a live provider. Discovery, authorization code + PKCE (S256),
// RFC 9207 `iss` validation, ID token validation (nonce included) and UserInfo
// are all done by openid-client; this script only plays the user's browser
// (plain fetch, manual redirects, a small cookie jar) through the login and
// consent forms.
//
// Usage:
//   node interop.mjs --issuer URL --client-id ID --client-secret SECRET \
//     --redirect-uri URI --password PASSWORD [--username alice]
//     [--auth-method client_secret_basic|client_secret_post]
//     [--tamper pkce|state|nonce|iss] [--refreshes N]
// Every option can also come from the environment: OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI, OIDC_PASSWORD, OIDC_USERNAME,
// OIDC_AUTH_METHOD, OIDC_TAMPER, OIDC_REFRESHES (the command line wins).
//
// Without --auth-method, openid-client's default client authentication is used
// (client_secret_post when a secret is given). --tamper makes the relying party
// deliberately wrong at one step, which must make the flow fail:
//   pkce   redeem the code with a different PKCE code_verifier (the provider rejects)
//   state  expect a different state than the one sent (openid-client rejects)
//   nonce  expect a different nonce than the one sent (openid-client rejects)
//   iss    alter the RFC 9207 `iss` in the authorization response (openid-client rejects)
//
// After the code flow the relying party refreshes N times in sequence (default 2;
// 0 skips) with openid-client's refreshTokenGrant, each time presenting the refresh
// token the previous response returned, and calls UserInfo with each refreshed
// access token. The output reports, per refresh, the scope and whether the refresh
// token changed; no token value is ever printed.
//
// On success prints one JSON object on stdout; on any error prints the error on
// stderr and exits non-zero.

import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const OPTIONS = {
  issuer: 'OIDC_ISSUER',
  'client-id': 'OIDC_CLIENT_ID',
  'client-secret': 'OIDC_CLIENT_SECRET',
  'redirect-uri': 'OIDC_REDIRECT_URI',
  password: 'OIDC_PASSWORD',
  username: 'OIDC_USERNAME',
  'auth-method': 'OIDC_AUTH_METHOD',
  tamper: 'OIDC_TAMPER',
  scope: 'OIDC_SCOPE',
  refreshes: 'OIDC_REFRESHES',
};
const DEFAULTS = { username: 'alice', scope: 'openid profile email', refreshes: '2' };
const REQUIRED = ['issuer', 'client-id', 'client-secret', 'redirect-uri', 'password'];
const TAMPERS = ['pkce', 'state', 'nonce', 'iss'];
const AUTH_METHODS = {
  client_secret_basic: client.ClientSecretBasic,
  client_secret_post: client.ClientSecretPost,
};
const HTTP_TIMEOUT_MS = 15_000;
const MAX_HOPS = 8;

function settings() {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' }])),
    strict: true,
    allowPositionals: false,
  });
  const result = {};
  for (const [name, envName] of Object.entries(OPTIONS)) {
    result[name] = values[name] ?? process.env[envName] ?? DEFAULTS[name];
  }
  const missing = REQUIRED.filter((name) => !result[name]);
  if (missing.length) {
    throw new Error(`missing required setting(s): ${missing.map((n) => `--${n}`).join(', ')}`);
  }
  if (result.tamper && !TAMPERS.includes(result.tamper)) {
    throw new Error(`--tamper must be one of ${TAMPERS.join(', ')}`);
  }
  if (!/^[0-9]+$/.test(result.refreshes)) {
    throw new Error('--refreshes must be a whole number');
  }
  result.refreshes = Number(result.refreshes);
  if (result['auth-method'] && !(result['auth-method'] in AUTH_METHODS)) {
    throw new Error(`--auth-method must be one of ${Object.keys(AUTH_METHODS).join(', ')}`);
  }
  return result;
}

// --- the user's browser ------------------------------------------------------

/** A minimal cookie jar for one origin: name -> value, honouring deletions. */
class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attr) => {
        const [key, val = ''] = attr.split('=').map((s) => s.trim());
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, entity) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity.toLowerCase()];
    if (named) return named;
    const code = entity[1].toLowerCase() === 'x'
      ? parseInt(entity.slice(2), 16)
      : parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

function attributesOf(tag) {
  const attributes = {};
  for (const match of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    attributes[match[1].toLowerCase()] = decodeEntities(match[3] ?? match[4]);
  }
  return attributes;
}

/** The first POST form of a page: its resolved action and its hidden inputs. */
function parseForm(html, pageUrl) {
  const form = html.match(/<form\b[^>]*>/i);
  if (!form) throw new Error(`no <form> on ${pageUrl}`);
  const formAttributes = attributesOf(form[0]);
  const hidden = {};
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const attributes = attributesOf(input[0]);
    if ((attributes.type ?? '').toLowerCase() === 'hidden' && attributes.name) {
      hidden[attributes.name] = attributes.value ?? '';
    }
  }
  return { action: new URL(formAttributes.action ?? pageUrl, pageUrl), hidden };
}

class Browser {
  #jar = new CookieJar();
  hops = [];

  async request(url, { method = 'GET', form } = {}) {
    const headers = { accept: 'text/html', 'user-agent': 'openid-client-interop' };
    const cookie = this.#jar.header();
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    this.#jar.store(response);
    const target = new URL(url);
    this.hops.push({ method, path: target.pathname, status: response.status });
    return response;
  }

  async form(url, expectedPath) {
    const response = await this.request(url);
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`GET ${url} answered ${response.status}, expected 200: ${snippet(html)}`);
    }
    const form = parseForm(html, url);
    for (const name of ['csrf_token', 'interaction']) {
      if (!form.hidden[name]) throw new Error(`${expectedPath} page has no hidden "${name}"`);
    }
    if (form.action.origin !== new URL(url).origin || form.action.pathname !== expectedPath) {
      throw new Error(`${expectedPath} form posts to unexpected ${form.action.href}`);
    }
    return form;
  }

  /**
   * Walks the authorization request as a browser would and returns the URL the
   * provider finally redirects to (the redirect_uri), without requesting it.
   */
  async authorize(authorizationUrl, redirectUri, { username, password }) {
    const issuerOrigin = authorizationUrl.origin;
    let response = await this.request(authorizationUrl.href);
    for (let hop = 0; hop < MAX_HOPS; hop += 1) {
      const location = response.headers.get('location');
      if (![302, 303].includes(response.status) || !location) {
        const text = await response.text();
        throw new Error(`unexpected ${response.status} from ${this.hops.at(-1).path} `
          + `without a redirect: ${snippet(text)}`);
      }
      await response.body?.cancel();
      const next = new URL(location, issuerOrigin);
      if (next.href.startsWith(redirectUri) || next.origin !== issuerOrigin) {
        if (!next.href.startsWith(redirectUri)) {
          throw new Error(`redirected off-site to ${next.href}, not to the redirect_uri`);
        }
        this.hops.push({ method: 'GET', path: next.pathname, status: null, redirect_uri: true });
        return next;
      }
      if (next.pathname === '/login') {
        const form = await this.form(next.href, '/login');
        response = await this.request(form.action.href, {
          method: 'POST',
          form: { ...form.hidden, username, password, action: 'login' },
        });
      } else if (next.pathname === '/consent') {
        const form = await this.form(next.href, '/consent');
        response = await this.request(form.action.href, {
          method: 'POST',
          form: { ...form.hidden, decision: 'allow' },
        });
      } else {
        response = await this.request(next.href);
      }
    }
    throw new Error(`more than ${MAX_HOPS} redirects without reaching the redirect_uri`);
  }
}

function snippet(text) {
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > 300 ? `${plain.slice(0, 300)}…` : plain;
}

// --- the relying party ---------------------------------------------------------

async function main() {
  const s = settings();
  const clientAuth = s['auth-method']
    ? AUTH_METHODS[s['auth-method']](s['client-secret'])
    : undefined;
  const config = await client.discovery(
    new URL(s.issuer), s['client-id'], s['client-secret'], clientAuth,
    { execute: [client.allowInsecureRequests] },
  );

  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: s['redirect-uri'],
    scope: s.scope,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    nonce,
    state,
  });

  const browser = new Browser();
  const callbackUrl = await browser.authorize(authorizationUrl, s['redirect-uri'], {
    username: s.username, password: s.password,
  });
  const callbackParams = Object.fromEntries(callbackUrl.searchParams);

  const checks = {
    pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  };
  if (s.tamper === 'pkce') checks.pkceCodeVerifier = client.randomPKCECodeVerifier();
  if (s.tamper === 'state') checks.expectedState = client.randomState();
  if (s.tamper === 'nonce') checks.expectedNonce = client.randomNonce();
  if (s.tamper === 'iss') callbackUrl.searchParams.set('iss', `${s.issuer}/evil`);

  const tokens = await client.authorizationCodeGrant(config, callbackUrl, checks);
  const claims = tokens.claims();
  if (!claims) throw new Error('the token response carried no ID token');
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  // Rotation: each refresh presents the refresh token the previous response returned.
  const refreshes = [];
  const seenRefreshTokens = [tokens.refresh_token];
  let refreshToken = tokens.refresh_token;
  for (let i = 0; i < s.refreshes; i += 1) {
    if (typeof refreshToken !== 'string') {
      throw new Error(`no refresh token to present for refresh #${i + 1}`);
    }
    const refreshed = await client.refreshTokenGrant(config, refreshToken);
    const next = refreshed.refresh_token;
    const refreshedUserinfo = await client.fetchUserInfo(
      config, refreshed.access_token, claims.sub,
    );
    refreshes.push({
      scope: refreshed.scope ?? null,
      token_type: refreshed.token_type,
      expires_in: refreshed.expires_in ?? null,
      has_refresh_token: typeof next === 'string',
      refresh_token_changed: typeof next === 'string' && next !== refreshToken,
      refresh_token_new: typeof next === 'string' && !seenRefreshTokens.includes(next),
      access_token_changed: refreshed.access_token !== tokens.access_token,
      has_id_token: typeof refreshed.id_token === 'string',
      userinfo: refreshedUserinfo,
    });
    seenRefreshTokens.push(next);
    refreshToken = next;
  }

  const server = config.serverMetadata();
  process.stdout.write(`${JSON.stringify({
    openid_client: { auth_method: s['auth-method'] ?? 'default' },
    discovery: {
      issuer: server.issuer,
      authorization_response_iss_parameter_supported:
        server.authorization_response_iss_parameter_supported ?? null,
    },
    browser_hops: browser.hops,
    authorization_response: {
      parameters: Object.keys(callbackParams).sort(),
      iss: callbackParams.iss ?? null,
      state_matches: callbackParams.state === state,
    },
    sent: { nonce, state },
    id_token_claims: claims,
    userinfo,
    token: {
      scope: tokens.scope ?? null,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in ?? null,
      has_refresh_token: typeof tokens.refresh_token === 'string',
    },
    refreshes,
  })}\n`);
}

function describe(error) {
  const parts = [`${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`];
  for (const key of ['code', 'error', 'error_description', 'status']) {
    if (error?.[key] !== undefined) parts.push(`${key}=${JSON.stringify(error[key])}`);
  }
  if (error?.cause !== undefined) {
    let cause;
    try {
      cause = error.cause instanceof Error
        ? `${error.cause.name}: ${error.cause.message}`
        : JSON.stringify(error.cause);
    } catch {
      cause = String(error.cause);
    }
    parts.push(`cause=${cause}`);
  }
  return parts.join(' ');
}

main().catch((error) => {
  process.stderr.write(`interop failed: ${describe(error)}\n`);
  process.exitCode = 1;
});
