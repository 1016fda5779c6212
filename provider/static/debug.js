// The token debugger page: decode a pasted JWT, check its signature with WebCrypto
// against this provider's JWKS, and explain every reason it would be refused, as
// `provider token inspect` does (provider/oauth/inspection/). The token never leaves
// the page: the JWKS is the only request made, and it carries nothing of the token.

const ACCESS_TOKEN_TYPES = ["at+jwt", "application/at+jwt"];
const ID_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat"];
const RFC9068_CLAIMS = ["sub", "client_id", "iat"];
const CLOCK_SKEW = 30;
const MAX_JWT_LENGTH = 8192;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const KIND_NAMES = {
  access_token: "access token", id_token: "ID token", unknown: "token of unknown kind",
};

// How each algorithm is checked, and only with the algorithm its JWKS key names.
// Never "none", never a MAC. ES256 signatures are raw r||s, as WebCrypto expects.
const VERIFIERS = {
  RS256: { kty: "RSA", key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
           verify: { name: "RSASSA-PKCS1-v1_5" } },
  PS256: { kty: "RSA", key: { name: "RSA-PSS", hash: "SHA-256" },
           verify: { name: "RSA-PSS", saltLength: 32 } },
  ES256: { kty: "EC", key: { name: "ECDSA", namedCurve: "P-256" },
           verify: { name: "ECDSA", hash: "SHA-256" }, signatureLength: 64 },
  EdDSA: { kty: "OKP", key: { name: "Ed25519" }, verify: { name: "Ed25519" } },
};
// Only the public key material goes to importKey (its checks of "alg" and "use"
// differ between browsers; we match alg against the header ourselves).
const PUBLIC_MEMBERS = { RSA: ["kty", "n", "e"], EC: ["kty", "crv", "x", "y"],
                         OKP: ["kty", "crv", "x"] };

export class UnverifiableError extends Error {}

// --- decoding -------------------------------------------------------------------

export function base64urlDecode(text) {
  if (!SEGMENT.test(text) || text.length % 4 === 1) return null;
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function decodeSegment(text) {
  const bytes = base64urlDecode(text);
  if (bytes === null) return null;
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

export function tokenKind(header, claims) {
  const typ = header.typ;
  if (typeof typ === "string" && ACCESS_TOKEN_TYPES.includes(typ.toLowerCase())) {
    return "access_token";
  }
  const plain = typ === undefined || (typeof typ === "string" && typ.toUpperCase() === "JWT");
  if (plain && claims !== null && ID_TOKEN_CLAIMS.every((name) => name in claims)
      && !("client_id" in claims) && !("scope" in claims)) {
    return "id_token";
  }
  return "unknown";
}

// --- words for times ------------------------------------------------------------

export function duration(seconds) {
  seconds = Math.floor(Math.abs(seconds));
  for (const [unit, size, least] of [["day", 86400, 2], ["hour", 3600, 2], ["minute", 60, 1]]) {
    if (seconds >= size * least) {
      const count = Math.floor(seconds / size);
      return `${count} ${unit}${count !== 1 ? "s" : ""}`;
    }
  }
  return `${seconds} second${seconds !== 1 ? "s" : ""}`;
}

export function relative(moment, now) {
  return moment <= now ? `${duration(now - moment)} ago` : `in ${duration(moment - now)}`;
}

export function stamp(moment) {
  const date = new Date(moment * 1000);
  if (Number.isNaN(date.getTime())) return `${moment} (out of range)`;
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// --- the signature --------------------------------------------------------------

export async function verifySignature(jwk, alg, token) {
  const verifier = VERIFIERS[alg];
  if (verifier === undefined || jwk.kty !== verifier.kty) {
    throw new UnverifiableError(`alg ${alg} cannot be checked here`);
  }
  if (!globalThis.crypto || !crypto.subtle) {
    throw new UnverifiableError("this browser offers no WebCrypto here (it needs https)");
  }
  const material = Object.fromEntries(
    PUBLIC_MEMBERS[jwk.kty].filter((name) => name in jwk).map((name) => [name, jwk[name]]));
  let key;
  try {
    key = await crypto.subtle.importKey("jwk", material, verifier.key, false, ["verify"]);
  } catch (error) {
    if (error && error.name === "NotSupportedError") {
      throw new UnverifiableError(`this browser cannot check ${alg} signatures`);
    }
    throw new UnverifiableError(`the key for ${alg} could not be used (${error})`);
  }
  const [header, payload, signature] = token.split(".");
  const raw = signature === "" ? new Uint8Array(0) : base64urlDecode(signature);
  if (raw === null) return false;
  if (verifier.signatureLength !== undefined && raw.length !== verifier.signatureLength) {
    return false;
  }
  const input = new TextEncoder().encode(`${header}.${payload}`);
  return crypto.subtle.verify(verifier.verify, key, raw, input);
}

// --- the verdict ----------------------------------------------------------------

class Verdict {
  constructor(kind = "unknown", header = null, claims = null) {
    Object.assign(this, { kind, header, claims, problems: [], key: null });
  }

  get valid() { return this.problems.length === 0; }

  toJSON() { return { valid: this.valid, ...this }; }

  problem(code, message) { this.problems.push({ code, message }); }
}

// context: { issuer, audiences: [..], algorithms: [..], jwks: {keys: [..]}, now }
export async function inspect(value, context) {
  const token = normalise(value);
  if (!token.includes(".")) {
    const verdict = new Verdict();
    verdict.problem("opaque", "not a JWT: an opaque token (such as a refresh token) can "
                              + "only be looked up on the server, with provider token inspect");
    return verdict;
  }
  const parts = token.split(".");
  if (parts.length === 5) {
    const verdict = new Verdict();
    verdict.problem("encrypted", "an encrypted token (JWE): this provider issues none and "
                                 + "cannot read it");
    return verdict;
  }
  const header = parts.length === 3 ? decodeSegment(parts[0]) : null;
  if (header === null) {
    const verdict = new Verdict();
    verdict.problem("malformed", "not a JWT: expected three dot-separated base64url parts, "
                                 + "the first a JSON header");
    return verdict;
  }
  const claims = decodeSegment(parts[1]);
  const verdict = new Verdict(tokenKind(header, claims), header, claims);
  if (claims === null) {
    verdict.problem("malformed", "the payload is not a base64url-encoded JSON object");
  }
  if (token.length > MAX_JWT_LENGTH) {
    verdict.problem("too_long", `longer than ${MAX_JWT_LENGTH} characters: the provider `
                                + "refuses it unread");
  }
  await checkSignature(verdict, token, context);
  checkType(verdict);
  if (claims !== null) checkClaims(verdict, claims, context);
  return verdict;
}

export function normalise(value) {
  const token = value.trim();
  const match = /^bearer\s+(\S+)$/i.exec(token);
  return match ? match[1] : token;
}

async function checkSignature(verdict, token, context) {
  const { header } = verdict;
  const alg = header.alg;
  if (typeof alg !== "string" || alg === "") {
    verdict.problem("no_alg", "no alg in the header");
    return;
  }
  if (alg.toLowerCase() === "none") {
    verdict.problem("alg_none", "alg none is never accepted (the token is unsigned)");
    return;
  }
  if (!context.algorithms.includes(alg)) {
    verdict.problem("alg_not_accepted", `alg ${alg} is not accepted (this provider accepts `
                                        + `${context.algorithms.join(", ")})`);
  }
  if ("crit" in header) {
    verdict.problem("crit", `critical header parameters not understood: ${JSON.stringify(header.crit)}`);
    return;
  }
  const kid = header.kid;
  if (typeof kid !== "string" || kid === "") {
    verdict.problem("no_kid", "no kid in the header (this provider always names its key)");
    return;
  }
  const jwk = (context.jwks.keys || []).find((key) => key.kid === kid);
  if (jwk === undefined) {
    verdict.problem("unknown_kid", `unknown kid ${kid} (not in the JWKS), so the signature `
                                   + "cannot be checked");
    return;
  }
  if (jwk.alg !== alg) {
    verdict.problem("alg_mismatch", `alg ${alg} does not match the alg of key ${kid} `
                                    + `(${jwk.alg})`);
    return;
  }
  verdict.key = { kid, alg, verified: false };
  let verified;
  try {
    verified = await verifySignature(jwk, alg, token);
  } catch (error) {
    if (!(error instanceof UnverifiableError)) throw error;
    verdict.problem("unverifiable", `signature not checked: ${error.message}; `
                                    + "provider token inspect can check it");
    return;
  }
  verdict.key.verified = verified;
  if (!verified) verdict.problem("bad_signature", `signature does not verify with key ${kid}`);
}

function checkType(verdict) {
  if (verdict.kind === "access_token") return;
  const typ = verdict.header.typ;
  const shown = typ === undefined ? "absent" : String(typ);
  if (verdict.kind === "id_token") {
    verdict.problem("id_token", `ID token used as an access token: typ is ${shown}, not at+jwt`);
  } else if (typ === undefined) {
    verdict.problem("wrong_typ", "no typ in the header: access tokens carry typ at+jwt");
  } else {
    verdict.problem("wrong_typ", `typ is ${shown}, not at+jwt`);
  }
}

function checkClaims(verdict, claims, context) {
  const { issuer, now } = context;
  if (!("iss" in claims)) {
    verdict.problem("missing_claim", "no iss claim (issuer)");
  } else if (claims.iss !== issuer) {
    verdict.problem("wrong_issuer", `issuer is ${claims.iss}, expected ${issuer}`);
  }
  checkAudience(verdict, claims.aud, context.audiences);
  checkTimes(verdict, claims, now);
  if (verdict.kind !== "id_token") {
    for (const name of RFC9068_CLAIMS) {
      if (!(name in claims)) verdict.problem("missing_claim", `no ${name} claim (RFC 9068 requires one)`);
    }
    if (typeof claims.jti !== "string" || claims.jti === "") {
      verdict.problem("missing_claim", "no jti claim, so revocation cannot be checked");
    }
  }
}

function checkAudience(verdict, aud, expected) {
  if (aud === undefined || aud === null) {
    verdict.problem("missing_claim", "no aud claim (audience)");
    return;
  }
  const audiences = (Array.isArray(aud) ? aud : [aud]).map(String);
  if (!audiences.some((value) => expected.includes(value))) {
    const shown = audiences.join(", ") || "empty";
    verdict.problem("wrong_audience", `audience is ${shown}, expected ${expected.join(" or ")}`);
  }
}

function isSeconds(value) { return Number.isSafeInteger(value); }

function checkTimes(verdict, claims, now) {
  const { exp, nbf, iat } = claims;
  if (exp === undefined) {
    verdict.problem("missing_claim", "no exp claim (expiry)");
  } else if (!isSeconds(exp)) {
    verdict.problem("bad_claim", `exp is ${JSON.stringify(exp)}, not a whole number of seconds`);
  } else if (exp <= now) {
    verdict.problem("expired", `expired ${relative(exp, now)} (${stamp(exp)})`);
  }
  if (nbf !== undefined && !isSeconds(nbf)) {
    verdict.problem("bad_claim", `nbf is ${JSON.stringify(nbf)}, not a whole number of seconds`);
  } else if (nbf !== undefined && nbf > now + CLOCK_SKEW) {
    verdict.problem("not_yet_valid", `not yet valid: usable ${relative(nbf, now)} (${stamp(nbf)})`);
  }
  if (iat !== undefined && !isSeconds(iat)) {
    verdict.problem("bad_claim", `iat is ${JSON.stringify(iat)}, not a whole number of seconds`);
  } else if (iat !== undefined && iat > now + CLOCK_SKEW) {
    verdict.problem("issued_in_future", `issued in the future: iat is ${relative(iat, now)} `
                                        + `(${stamp(iat)})`);
  }
}

// --- the page -------------------------------------------------------------------

async function fetchJwks(url) {
  // Revalidated every time (the JWKS is cacheable); no cookies, nothing of the token.
  const response = await fetch(url, { cache: "no-cache", credentials: "omit",
                                      headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`the JWKS answered ${response.status}`);
  return response.json();
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function list(findings) {
  const ul = element("ul");
  for (const finding of findings) {
    const li = element("li", finding.message);
    li.dataset.code = finding.code;
    ul.append(li);
  }
  return ul;
}

function renderVerdict(box, verdict) {
  const kind = KIND_NAMES[verdict.kind];
  const count = verdict.problems.length;
  box.replaceChildren();
  box.className = `verdict ${verdict.valid ? "valid" : "invalid"}`;
  box.dataset.valid = String(verdict.valid);
  box.dataset.kind = verdict.kind;
  const summary = verdict.valid
    ? `Valid ${kind}`
    : `Invalid ${kind}: ${count} problem${count !== 1 ? "s" : ""}`;
  box.append(element("p", summary, "summary"));
  if (count) box.append(list(verdict.problems));
  if (verdict.key) {
    const { kid, alg, verified } = verdict.key;
    box.append(element("p", verified
      ? `Signed by key ${kid} (${alg}), published in this provider's JWKS.`
      : `Names key ${kid} (${alg}) from this provider's JWKS; its signature was not `
        + "verified.", "key"));
  }
  box.hidden = false;
}

function renderDetails(section, verdict, now) {
  const show = verdict.header !== null;
  section.hidden = !show;
  document.getElementById("header").textContent = show
    ? JSON.stringify(verdict.header, null, 2) : "";
  document.getElementById("claims").textContent = verdict.claims !== null
    ? JSON.stringify(verdict.claims, null, 2) : "(not a JSON object)";
  const times = document.getElementById("times");
  times.replaceChildren();
  for (const name of ["iat", "nbf", "exp", "auth_time"]) {
    const value = verdict.claims ? verdict.claims[name] : undefined;
    if (!isSeconds(value)) continue;
    times.append(element("dt", name), element("dd", `${stamp(value)} (${relative(value, now)})`));
  }
}

function renderFailure(box, message) {
  box.replaceChildren(element("p", message, "summary"));
  box.className = "verdict invalid";
  box.dataset.valid = "false";
  box.dataset.kind = "";
  box.hidden = false;
}

function setUp(form) {
  const input = document.getElementById("token");
  const box = document.getElementById("verdict");
  const details = document.getElementById("details");
  const settings = {
    issuer: form.dataset.issuer,
    audiences: form.dataset.audiences.split(" ").filter(Boolean),
    algorithms: form.dataset.algorithms.split(" ").filter(Boolean),
  };
  let running = 0;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();  // nothing is ever submitted; the CSP forbids it as well
    const value = input.value;
    if (!value.trim()) {
      renderFailure(box, "Paste a token first.");
      details.hidden = true;
      input.focus();
      return;
    }
    const run = ++running;
    box.setAttribute("aria-busy", "true");
    try {
      const jwks = value.includes(".") ? await fetchJwks(form.dataset.jwks) : { keys: [] };
      const now = Math.floor(Date.now() / 1000);
      const verdict = await inspect(value, { ...settings, jwks, now });
      if (run !== running) return;  // a newer inspection is on its way
      renderVerdict(box, verdict);
      renderDetails(details, verdict, now);
    } catch (error) {
      if (run !== running) return;
      renderFailure(box, `Could not check the token: ${error.message}`);
      details.hidden = true;
    } finally {
      if (run === running) box.removeAttribute("aria-busy");
    }
  });

  form.addEventListener("reset", () => {
    running++;
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.valid;
    delete box.dataset.kind;
    box.removeAttribute("aria-busy");
    details.hidden = true;
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

const form = typeof document !== "undefined" && document.getElementById("debug-form");
if (form) setUp(form);
