// What the shells let through, as pure functions (electron-free, so they are unit-tested):
// the Electron window's links, navigations and permissions, and the web server's origin,
// content-type and response-header rules, and what an access token must be.
import crypto from 'node:crypto';

/** The page's Content-Security-Policy. index.html carries it as a meta tag; the shells also send
 * it as a header, with frame-ancestors (which a meta tag cannot set): no page may frame the app. */
export const APP_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws:";
export const CSP_HEADER = `${APP_CSP}; frame-ancestors 'none'`;

/** Headers on every response of the web server. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP_HEADER,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // no other site may load a response as an image, script or style (their errors leak data)
  'cross-origin-resource-policy': 'same-origin',
};

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** Whether a link the page tries to open in a new window may go to the system browser: web
 * pages only (http: and https:), never file:, smb:, custom schemes or anything unparsable. */
export function isExternalUrlAllowed(url: string): boolean {
  const u = parse(url);
  return !!u && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
}

/** Whether url is the app's own page (appUrl: the dev server's URL in dev, the built
 * index.html's file: URL in production); only the fragment (the router's #/route) may differ.
 * The window navigates nowhere else: any page loaded there would get the preload's window.api. */
export function isAppUrl(url: string, appUrl: string): boolean {
  const u = parse(url);
  const app = parse(appUrl);
  if (!u || !app) return false;
  return u.protocol === app.protocol && u.host === app.host && u.pathname === app.pathname && u.search === app.search && u.username === '' && u.password === '';
}

/** Permission requests and checks (camera, notifications, geolocation, ...): all denied, but a
 * sanitized clipboard write (the Copy buttons) from the app's own page. */
export function isPermissionAllowed(permission: string, pageUrl: string | null | undefined, appUrl: string): boolean {
  return permission === 'clipboard-sanitized-write' && !!pageUrl && isAppUrl(pageUrl, appUrl);
}

/** Whether a request's Origin header is acceptable to the web server: none at all (a non-browser
 * client, a top-level navigation), or exactly the origin of the server as the request addressed
 * it (host is the request's Host, already checked to be this server). "null" and every other
 * origin, another port of 127.0.0.1 included, are refused. */
export function isOwnOrigin(origin: string | undefined, host: string): boolean {
  return origin === undefined || origin === `http://${host}`;
}

/** Whether Sec-Fetch-Site (sent by browsers) says another site made the request. Pages on
 * other ports of 127.0.0.1 are "same-site" (they get the SameSite cookie), so both count. */
export function isForeignFetch(secFetchSite: string | undefined): boolean {
  return secFetchSite === 'cross-site' || secFetchSite === 'same-site';
}

/** Whether a Content-Type header is JSON ("application/json", parameters such as charset allowed). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return !!contentType && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** What a user-chosen access token (serve's --token or TRICKBENCH_TOKEN) must be: URL-, cookie-
 * and header-safe characters, long and varied enough not to be guessed. */
export const TOKEN_RULE = '32 to 256 characters from A-Z a-z 0-9 _ - (e.g. the output of `openssl rand -hex 24`)';

/** Why `token` may not be serve's access token, or null when it may. Never repeats the token
 * (it is a secret; the messages end up on terminals and in logs). */
export function tokenProblem(token: string): string | null {
  if (token.length < 32) return `too short (${token.length} characters; a token is ${TOKEN_RULE})`;
  if (token.length > 256) return `too long (${token.length} characters; a token is ${TOKEN_RULE})`;
  const bad = /[^0-9A-Za-z_-]/.exec(token);
  if (bad) return `character ${bad.index + 1} is not one of A-Z a-z 0-9 _ - (a token is ${TOKEN_RULE})`;
  // A random token of 32 hex digits has ~14 different characters; "aaaa…" or "abab…" has 1 or 2.
  const distinct = new Set(token).size;
  if (distinct < 8) return `too predictable (only ${distinct} different characters; a token is ${TOKEN_RULE})`;
  return null;
}

/** Whether a presented token is the server's, in constant time: both are hashed to equal-length
 * digests first, so neither the first differing character nor the length shows in the timing. */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (!presented) return false;
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}
