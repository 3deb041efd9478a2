/**
 * No password leaves this machine in clear text unless the admin allows it:
 * each connector refuses a plaintext login to a non-loopback server before it
 * opens a connection (the `.invalid` hosts below never resolve, so a broken
 * guard would fail with a lookup error, not send anything).
 */
import { createDavCopier } from '../connectors/dav';
import { createSourceDirectory } from '../connectors/directory';
import { createMailCopier } from '../connectors/mail';
import { MailferryError } from '../shared/errors';
import { assertUrlAllowsPassword, isLoopbackHost } from '../shared/transport';

async function refusal(p: Promise<unknown>): Promise<MailferryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MailferryError);
  return err as MailferryError;
}

test('loopback is this machine only', () => {
  expect(['127.0.0.1', '127.8.9.1', 'localhost', 'a.localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
  expect(['10.0.0.1', '192.168.1.2', 'mail.example.com', '::2', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
});

test('URLs: ldaps:// and https:// pass, ldap:// and http:// to a remote host are refused unless allowed', () => {
  expect(() => assertUrlAllowsPassword('ldaps://dc.example.com', 'x', false, 'use ldaps://')).not.toThrow();
  expect(() => assertUrlAllowsPassword('https://dav.example.com/', 'x', false, 'use https://')).not.toThrow();
  expect(() => assertUrlAllowsPassword('ldap://127.0.0.1:389', 'x', false, 'use ldaps://')).not.toThrow();
  expect(() => assertUrlAllowsPassword('ldap://dc.example.com', 'x', true, 'use ldaps://')).not.toThrow();
  expect(() => assertUrlAllowsPassword('http://dav.example.com/', 'the DAV password', false, 'use https://')).toThrow(
    /Refusing to send the DAV password in clear text to dav.example.com:http; use https:\/\//,
  );
});

test('the directory connector refuses ldap:// to a remote host before binding', async () => {
  const dir = createSourceDirectory({
    url: 'ldap://directory.invalid:389',
    suffix: 'dc=x',
    bindDn: 'cn=admin,dc=x',
    password: 'secret-Pass1',
  });
  const err = await refusal(dir.findMailbox('a@b.test'));
  expect(err.code).toBe('TLS_REQUIRED');
  expect(err.message).not.toContain('secret-Pass1');
  await dir.close();
});

test('the DAV connector refuses http:// to a remote host', async () => {
  const endpoint = { url: 'http://dav.invalid/', user: 'admin', password: 'secret-Pass1' };
  const err = await refusal(createDavCopier().copyDav(endpoint, endpoint, 'a@b.test'));
  expect(err.code).toBe('TLS_REQUIRED');
});

test('the mail connector refuses a plaintext IMAP login to a remote host', async () => {
  const err = await refusal(
    createMailCopier().testLogin({ host: 'mail.invalid', port: 143, secure: false, user: 'a*admin', password: 'secret-Pass1' }),
  );
  expect(err.code).toBe('TLS_REQUIRED');
});
