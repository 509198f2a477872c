// The shells' gatekeeping decisions (src/main/security.ts): which links the Electron window hands
// to the OS, where it may navigate, which permissions it grants; which origins and bodies the web
// server takes.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_CSP, CSP_HEADER, isAppUrl, isExternalUrlAllowed, isForeignFetch, isJsonContentType, isOwnOrigin, isPermissionAllowed, SECURITY_HEADERS } from '../../src/main/security';

describe('links opened outside the app', () => {
  it('opens web pages only', () => {
    expect(isExternalUrlAllowed('https://github.com/some/repo')).toBe(true);
    expect(isExternalUrlAllowed('http://example.org/a?b#c')).toBe(true);
    expect(isExternalUrlAllowed('HTTPS://EXAMPLE.ORG/')).toBe(true);
  });
  it('refuses local files, shares, custom schemes and junk', () => {
    for (const url of [
      'file:///etc/passwd',
      'file:///C:/Windows/System32/calc.exe',
      'smb://attacker.example/share/run.exe',
      '\\\\attacker.example\\share\\run.exe',
      'ms-msdt:/id PCWDiagnostic',
      'search-ms:query=x&crumb=location:\\\\evil',
      'javascript:alert(1)',
      'data:text/html,<script>1</script>',
      'mailto:someone@example.org',
      'ftp://example.org/x',
      'vscode://file/etc/passwd',
      'http:',
      'not a url',
      '',
    ]) {
      expect(isExternalUrlAllowed(url), url).toBe(false);
    }
  });
});

describe("the window's own page", () => {
  const built = pathToFileURL('/opt/Trickbench/resources/app.asar/out/renderer/index.html').href;
  const dev = 'http://localhost:5173';

  it("is the built index.html (any route) or the dev server's page", () => {
    expect(isAppUrl(built, built)).toBe(true);
    expect(isAppUrl(`${built}#/datasets/shapes`, built)).toBe(true);
    expect(isAppUrl('http://localhost:5173/', dev)).toBe(true);
    expect(isAppUrl('http://localhost:5173/#/runs/3', dev)).toBe(true);
  });
  it('is no other local file, no other page of the dev server, no other site', () => {
    expect(isAppUrl('file:///home/me/Downloads/evil.html', built)).toBe(false);
    expect(isAppUrl(pathToFileURL('/opt/Trickbench/resources/app.asar/out/renderer/other.html').href, built)).toBe(false);
    expect(isAppUrl(`${built}?x=1`, built)).toBe(false);
    expect(isAppUrl('file://attacker.example/share/index.html', pathToFileURL('/share/index.html').href)).toBe(false);
    expect(isAppUrl('http://localhost:5173/@fs/etc/passwd', dev)).toBe(false);
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isAppUrl('https://localhost:5173/', dev)).toBe(false);
    expect(isAppUrl('http://user@localhost:5173/', dev)).toBe(false);
    expect(isAppUrl('https://example.org/', dev)).toBe(false);
    expect(isAppUrl('about:blank', built)).toBe(false);
    expect(isAppUrl('garbage', built)).toBe(false);
  });
  it('grants no permission but the clipboard write of its own page', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fileSystem', 'hid', 'serial', 'usb', 'fullscreen']) {
      expect(isPermissionAllowed(p, `${built}#/`, built), p).toBe(false);
    }
    expect(isPermissionAllowed('clipboard-sanitized-write', `${built}#/experiments/1`, built)).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', 'file:///tmp/evil.html', built)).toBe(false);
    expect(isPermissionAllowed('clipboard-sanitized-write', undefined, built)).toBe(false);
  });
});

describe('web server requests', () => {
  it('takes no Origin or exactly its own', () => {
    expect(isOwnOrigin(undefined, '127.0.0.1:7340')).toBe(true);
    expect(isOwnOrigin('http://127.0.0.1:7340', '127.0.0.1:7340')).toBe(true);
    expect(isOwnOrigin('http://localhost:7340', 'localhost:7340')).toBe(true);
    for (const o of ['http://evil.example', 'http://127.0.0.1:8000', 'https://127.0.0.1:7340', 'http://localhost:7340', 'null', '', 'http://127.0.0.1:7340/']) {
      expect(isOwnOrigin(o, '127.0.0.1:7340'), o).toBe(false);
    }
  });
  it("counts same-site (another port) as another site's request", () => {
    expect(isForeignFetch('cross-site')).toBe(true);
    expect(isForeignFetch('same-site')).toBe(true);
    expect(isForeignFetch('same-origin')).toBe(false);
    expect(isForeignFetch('none')).toBe(false);
    expect(isForeignFetch(undefined)).toBe(false);
  });
  it('takes JSON bodies only', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    for (const t of [undefined, '', 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json']) {
      expect(isJsonContentType(t), String(t)).toBe(false);
    }
  });
  it("forbids framing in the page's own policy", () => {
    expect(CSP_HEADER.startsWith(APP_CSP)).toBe(true);
    expect(CSP_HEADER).toContain("frame-ancestors 'none'");
    expect(SECURITY_HEADERS).toMatchObject({ 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'content-security-policy': CSP_HEADER });
    // the header and index.html's meta tag are one policy
    const html = fs.readFileSync(path.join(__dirname, '../../src/renderer/index.html'), 'utf8');
    expect(/http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1]).toBe(APP_CSP);
  });
});
