// node-oidc-provider counterpart of our provider, for the side-by-side benchmark.
//
// One process, oidc-provider's default in-memory adapter, an RS256 key made at
// start, two static clients (bench-service: client_credentials with RFC 9068 JWT
// access tokens; bench-web: authorization code + PKCE S256 + rotating refresh
// tokens) and an interaction route that logs in `bench-user` and grants consent
// without rendering anything.
//
//   PORT=8080 node bench/node/server.mjs
//
// Environment: PORT (default 3000), SERVICE_SECRET, WEB_SECRET,
// CC_TOKEN_FORMAT ("jwt", the default, or "opaque": oidc-provider refuses to
// introspect JWT access tokens, so introspection of client_credentials tokens
// can only be measured with opaque ones), ACCESS_TOKEN_ALG (RS256, the default,
// ES256 or EdDSA: what the JWT access tokens are signed with).
//
// Once listening it prints one JSON line on stdout with the endpoints taken from
// its own discovery document; nothing else is written to stdout. SIGTERM/SIGINT
// close the listener and exit 0.

import * as crypto from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const PORT = Number.parseInt(process.env.PORT ?? '3000', 10);
const HOST = '127.0.0.1';
const ISSUER = `http://${HOST}:${PORT}`;

const SERVICE_SECRET = process.env.SERVICE_SECRET
  ?? 'service-secret-0123456789abcdef0123456789abcdef';
const WEB_SECRET = process.env.WEB_SECRET
  ?? 'web-secret-0123456789abcdef0123456789abcdef';
const CC_TOKEN_FORMAT = process.env.CC_TOKEN_FORMAT ?? 'jwt';
const ACCESS_TOKEN_ALG = process.env.ACCESS_TOKEN_ALG ?? 'RS256';
if (!['jwt', 'opaque'].includes(CC_TOKEN_FORMAT)) {
  throw new Error('CC_TOKEN_FORMAT must be "jwt" or "opaque"');
}

const API = 'urn:bench:api';
const API_SCOPE = 'api:read';
const ACCOUNT_ID = 'bench-user';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const OIDC_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email']);

// Lifetimes as in our provider's defaults (instance/config.example.py).
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Signing keys made at start, exported as private JWKs: RS256 first (the default for
// ID tokens), and ES256 and EdDSA for the access-token rows of ACCESS_TOKEN_ALG.
const KEY_TYPES = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
};
function signingKey(alg) {
  const { privateKey } = crypto.generateKeyPairSync(...KEY_TYPES[alg]);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg, use: 'sig' };
}

const ACCOUNT = {
  accountId: ACCOUNT_ID,
  async claims() {
    return { sub: ACCOUNT_ID, name: 'Bench User', email: 'bench-user@example.test' };
  },
};

const configuration = {
  clients: [
    {
      client_id: 'bench-service',
      client_secret: SERVICE_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // No `scope` metadata: it may only list the provider's OIDC scopes, and
      // api:read belongs to the resource server (getResourceServerInfo below).
    },
    {
      client_id: 'bench-web',
      client_secret: WEB_SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access',
    },
  ],
  jwks: { keys: Object.keys(KEY_TYPES).map(signingKey) },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },

  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub'],
    profile: ['name'],
    email: ['email'],
  },
  scopes: [...OIDC_SCOPES],
  responseTypes: ['code'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  // oidc-provider drops offline_access from an authorization request that does
  // not also say prompt=consent (OIDC Core 11), and by default issues refresh
  // tokens only for offline_access and ties tokens without it to the browser
  // session. The benchmark asks for offline_access without prompt=consent, so
  // give it what offline_access gets in our provider: a refresh token whenever
  // the client may use the grant, and tokens that outlive the session.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,

  async findAccount(ctx, sub) {
    return sub === ACCOUNT_ID ? ACCOUNT : undefined;
  },

  interactions: {
    url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
  },

  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html><body>${form}<script>document.forms[0].submit()</script></body>`;
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'text';
        ctx.body = 'signed out';
      },
    },
    resourceIndicators: {
      enabled: true,
      // Only client_credentials defaults to the API; the code flow without a
      // resource gets an opaque access token usable at the userinfo endpoint.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return ctx.oidc.params?.grant_type === 'client_credentials' ? API : undefined;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator !== API) throw new errors.InvalidTarget();
        return {
          scope: API_SCOPE,
          audience: API,
          accessTokenTTL: 15 * MINUTE,
          accessTokenFormat: CC_TOKEN_FORMAT,
          ...(CC_TOKEN_FORMAT === 'jwt' ? { jwt: { sign: { alg: ACCESS_TOKEN_ALG } } } : {}),
        };
      },
      useGrantedResource: async () => true,
    },
  },

  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 15 * MINUTE,
    AuthorizationCode: MINUTE,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 15 * MINUTE,
    IdToken: HOUR,
    Interaction: 10 * MINUTE,
    Session: 8 * HOUR,
    RefreshToken: 14 * DAY,
    Grant: 30 * DAY,
  },

  clientBasedCORS: () => false,

  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(ISSUER, configuration);

// Login and consent without pages: every interaction finishes at once as
// bench-user, granting the requested OIDC scopes and claims (and resource
// scopes, if any were asked for).
const INTERACTION = /^\/interaction\/([^/]+)$/;

function requestedClaims(params) {
  if (!params.claims) return [];
  try {
    const claims = JSON.parse(params.claims);
    return [...new Set([
      ...Object.keys(claims.userinfo ?? {}),
      ...Object.keys(claims.id_token ?? {}),
    ])];
  } catch {
    return [];
  }
}

provider.use(async (ctx, next) => {
  const match = INTERACTION.exec(ctx.path);
  if (!match || ctx.method !== 'GET') return next();

  let interaction;
  try {
    interaction = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    ctx.status = err.statusCode ?? 400;
    ctx.body = { error: err.error ?? 'invalid_request', error_description: err.error_description ?? String(err) };
    return undefined;
  }
  if (interaction.uid !== match[1]) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: 'interaction mismatch' };
    return undefined;
  }

  const { params, prompt: { details }, session } = interaction;
  const accountId = session?.accountId ?? ACCOUNT_ID;

  let grant;
  if (interaction.grantId) grant = await provider.Grant.find(interaction.grantId);
  grant ??= new provider.Grant({ accountId, clientId: params.client_id });

  const scopes = new Set((params.scope ?? '').split(' ').filter((s) => OIDC_SCOPES.has(s)));
  for (const scope of details.missingOIDCScope ?? []) scopes.add(scope);
  if (scopes.size) grant.addOIDCScope([...scopes].join(' '));

  const claims = new Set([...requestedClaims(params), ...(details.missingOIDCClaims ?? [])]);
  if (claims.size) grant.addOIDCClaims([...claims]);

  for (const [indicator, wanted] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, wanted.join(' '));
  }

  const grantId = await grant.save();
  const returnTo = await provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
  ctx.status = 303;
  ctx.redirect(returnTo);
  return undefined;
});

// Internal errors to stderr; expected protocol errors (invalid_grant, ...) stay quiet.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(PORT, HOST, async () => {
  try {
    const res = await fetch(`${ISSUER}/.well-known/openid-configuration`);
    const discovery = await res.json();
    const keys = [
      'issuer',
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'introspection_endpoint',
      'jwks_uri',
    ];
    process.stdout.write(`${JSON.stringify(Object.fromEntries(keys.map((k) => [k, discovery[k]])))}\n`);
  } catch (err) {
    console.error('could not read own discovery document', err);
    process.exit(1);
  }
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
