import * as YAML from 'yaml';
import { UserError } from '../../lib/core/errors';
import {
  ageRecipientProblems,
  excerpt,
  isSopsEncrypted,
  PROXMOX_CREDENTIALS_LABEL,
  proxmoxCredentialsProblems,
  proxmoxCredentialsSecret,
  proxmoxCredentialsSecretYaml,
  ProxmoxCredentialsSecretProps,
  redactUrl,
  sopsConfigProblems,
  sopsConfigRecipients,
  sopsConfigYaml,
  updateSopsConfig,
} from '../../lib/credentials/secret';

// Obviously fake values: a token ID from the CAPMOX docs' pattern and an all-zero UUID.
const URL = 'https://pve.example.com:8006';
const TOKEN = 'capmox@pve!capi';
const SECRET = '00000000-0000-4000-8000-000000000000';
const PROPS: ProxmoxCredentialsSecretProps = { name: 'homelab-proxmox', namespace: 'default', url: URL, token: TOKEN, secret: SECRET };

// Self-signed test CA and a leaf it issued (CN=pve.example.com); their keys were thrown away.
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBpDCCAUmgAwIBAgIUagM1Bn6bs/WWy5bG9xLeteHFO2YwCgYIKoZIzj0EAwIw
JjEkMCIGA1UEAwwbY2RrOHMtdGFsb3MtcHJveG1veCB0ZXN0IENBMCAXDTI2MTEy
NDEyMzQyOFoYDzIxMjYxMDMxMTIzNDI4WjAmMSQwIgYDVQQDDBtjZGs4cy10YWxv
cy1wcm94bW94IHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQdfchZ
Q3MDoaDITSTck7CZaYMoJ6qT6Ve8bN1PHVYhz1QEJnmuu0eZH0muH1xNBfa5J9J0
OUWRSTFbIhOYPbIho1MwUTAdBgNVHQ4EFgQUCit8/xYe/LzMRtUKVM5Ep0ZAY0Qw
HwYDVR0jBBgwFoAUCit8/xYe/LzMRtUKVM5Ep0ZAY0QwDwYDVR0TAQH/BAUwAwEB
/zAKBggqhkjOPQQDAgNJADBGAiEAgTbF3x2wvbh/FScKvBUqd2ZZDmr98+1A6rZo
61xGx0kCIQDQ/1HYs0a722vSy/fBzu60RXMxP3KCIaD/iktg+9f25Q==
-----END CERTIFICATE-----
`;
const LEAF_PEM = `-----BEGIN CERTIFICATE-----
MIIBrDCCAVOgAwIBAgIUeZ4psOp88D2p7KI8uuaGao9SW0YwCgYIKoZIzj0EAwIw
JjEkMCIGA1UEAwwbY2RrOHMtdGFsb3MtcHJveG1veCB0ZXN0IENBMCAXDTI2MTEy
NDEyMzQyOFoYDzIxMjYxMDMxMTIzNDI4WjAaMRgwFgYDVQQDDA9wdmUuZXhhbXBs
ZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATnE+qdi36VFoQ/pVtTXXDV
I4XhSafb2GOWLC5NkrVZBjoVL50ouCqi5kEem7JyC34C6c/DbAxUCk7F0BjpwuMH
o2kwZzAJBgNVHRMEAjAAMBoGA1UdEQQTMBGCD3B2ZS5leGFtcGxlLmNvbTAdBgNV
HQ4EFgQU0oCf1ilH7jVJa3F9VKyM8tnk/w8wHwYDVR0jBBgwFoAUCit8/xYe/LzM
RtUKVM5Ep0ZAY0QwCgYIKoZIzj0EAwIDRwAwRAIgZMz+HnFvia14Z4uUpX4HTXoU
Jjea62moeB3rP2ko3B0CIFdwpQvp6f0oFq/8qNtupBvaJQjucZrwSUPvnLaQEC/d
-----END CERTIFICATE-----
`;

// age recipients of all-0x00 and all-0x11 keys: well-formed bech32, nobody's key.
const AGE_A = 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z';
const AGE_B = 'age1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs0dsc5v';
// A recipient of a made-up plugin "example" (age1<plugin>1…), also well-formed bech32.
const AGE_PLUGIN = 'age1example1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqjeqdck';

const URL_EXPECTED = 'expected https://<host>[:port], like https://pve.example.com:8006';
const TOKEN_EXPECTED = 'user@realm!tokenname, like capmox@pve!capi';
const SECRET_EXPECTED = 'expected the token secret Proxmox showed when the token was created, a UUID like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
const CA_EXPECTED = 'a PEM CA certificate such as /etc/pve/pve-root-ca.pem from a Proxmox node';
const NO_CA_WARNING = 'PROXMOX_ROOT_CA_FILE is not set, so the Secret says insecure: "true" and CAPMOX will not verify the TLS certificate of the Proxmox API; to verify it, set PROXMOX_ROOT_CA_FILE to a PEM CA certificate such as /etc/pve/pve-root-ca.pem from a Proxmox node';

/** Errors of the credentials with one field changed (the rest valid, with a CA so no warning). */
function errorsWith(change: Partial<ProxmoxCredentialsSecretProps>): string[] {
  return proxmoxCredentialsProblems({ ...PROPS, rootCa: CA_PEM, ...change }).filter((p) => p.severity === 'error').map((p) => p.message);
}

function warningsWith(change: Partial<ProxmoxCredentialsSecretProps>): string[] {
  return proxmoxCredentialsProblems({ ...PROPS, ...change }).filter((p) => p.severity === 'warning').map((p) => p.message);
}

describe('credentials Secret', () => {
  test('without a CA: the exact keys, the label, the namespace, and insecure "true" written out', () => {
    expect(proxmoxCredentialsSecret(PROPS)).toStrictEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'homelab-proxmox',
        namespace: 'default',
        labels: { 'platform.ionos.com/secret-type': 'proxmox-credentials' },
      },
      type: 'Opaque',
      immutable: false,
      stringData: { url: URL, token: TOKEN, secret: SECRET, insecure: 'true' },
    });
    expect(PROXMOX_CREDENTIALS_LABEL).toBe('platform.ionos.com/secret-type');
  });

  test('with a CA: root_ca holds the certificate and insecure is "false"', () => {
    const s = proxmoxCredentialsSecret({ ...PROPS, rootCa: CA_PEM });
    expect(Object.keys(s.stringData as object)).toEqual(['insecure', 'root_ca', 'secret', 'token', 'url']);
    expect(s.stringData).toMatchObject({ insecure: 'false', root_ca: CA_PEM });
  });

  test('root_ca keeps only the certificate blocks, with LF line ends', () => {
    const messy = `Bag Attributes\r\n  friendlyName: pve\r\n${CA_PEM.replace(/\n/g, '\r\n')}trailing text\r\n`;
    expect((proxmoxCredentialsSecret({ ...PROPS, rootCa: messy }).stringData as Record<string, string>).root_ca).toBe(CA_PEM);
    const both = proxmoxCredentialsSecret({ ...PROPS, rootCa: `${CA_PEM}\n\n${LEAF_PEM}` });
    expect((both.stringData as Record<string, string>).root_ca).toBe(`${CA_PEM}${LEAF_PEM}`);
  });

  test('uses the namespace given', () => {
    expect(proxmoxCredentialsSecret({ ...PROPS, namespace: 'capi-clusters' }).metadata.namespace).toBe('capi-clusters');
  });

  test('serializes to the same YAML every time, strings that look like booleans quoted', () => {
    const text = proxmoxCredentialsSecretYaml(PROPS);
    expect(text).toBe([
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      '  labels:',
      '    platform.ionos.com/secret-type: proxmox-credentials',
      '  name: homelab-proxmox',
      '  namespace: default',
      'immutable: false',
      'stringData:',
      '  insecure: "true"',
      '  secret: 00000000-0000-4000-8000-000000000000',
      '  token: capmox@pve!capi',
      '  url: https://pve.example.com:8006',
      'type: Opaque',
      '',
    ].join('\n'));
    expect(proxmoxCredentialsSecretYaml(PROPS)).toBe(text);
  });

  test('serializes the CA as a block scalar that reads back unchanged', () => {
    const text = proxmoxCredentialsSecretYaml({ ...PROPS, rootCa: CA_PEM });
    expect(text).toContain('  insecure: "false"\n  root_ca: |\n    -----BEGIN CERTIFICATE-----\n');
    expect(YAML.parse(text).stringData.root_ca).toBe(CA_PEM);
  });

  test('fails with every error at once, as a UserError', () => {
    const build = () => proxmoxCredentialsSecret({ ...PROPS, url: 'http://pve:8006', token: 'capmox', secret: 'nope' });
    expect(build).toThrow(UserError);
    expect(build).toThrow(/^PROXMOX_URL .*\nPROXMOX_TOKEN .*\nPROXMOX_SECRET .*$/);
  });

  test('fails on a Secret name or namespace the API server rejects', () => {
    expect(() => proxmoxCredentialsSecret({ ...PROPS, name: 'Homelab_Proxmox', namespace: 'Default' })).toThrow(
      'Secret metadata.name "Homelab_Proxmox" must be a DNS-1123 subdomain (lower case, digits, "-" and ".", at most 253 characters)\n'
      + 'Secret metadata.namespace "Default" must be a DNS-1123 label',
    );
  });
});

describe('credentials validation', () => {
  test('valid credentials with a CA have no problems', () => {
    expect(proxmoxCredentialsProblems({ ...PROPS, rootCa: CA_PEM })).toEqual([]);
    expect(proxmoxCredentialsProblems({ ...PROPS, url: 'https://[fd00::1]:8006/', rootCa: CA_PEM })).toEqual([]);
    expect(proxmoxCredentialsProblems({ ...PROPS, token: 'capi.bot@pam!cluster-api_1', rootCa: CA_PEM })).toEqual([]);
  });

  test('warns that TLS is not verified without a CA', () => {
    expect(warningsWith({})).toEqual([NO_CA_WARNING]);
  });

  test('warns about a URL without a port, but not about an explicit :443', () => {
    expect(warningsWith({ url: 'https://pve.example.com', rootCa: CA_PEM })).toEqual([
      'PROXMOX_URL "https://pve.example.com" has no port, so CAPMOX connects to port 443; the Proxmox API listens on 8006 unless a proxy serves it on 443 (add :8006 if not)',
    ]);
    expect(warningsWith({ url: 'https://pve.example.com:443', rootCa: CA_PEM })).toEqual([]);
  });

  describe('fails', () => {
    test('fails on missing variables, naming each', () => {
      expect(proxmoxCredentialsProblems({})).toEqual([
        { severity: 'error', message: 'PROXMOX_URL is not set; expected the Proxmox API URL https://<host>[:port], like https://pve.example.com:8006' },
        { severity: 'error', message: 'PROXMOX_TOKEN is not set; expected the API token ID user@realm!tokenname, like capmox@pve!capi' },
        { severity: 'error', message: `PROXMOX_SECRET is not set; ${SECRET_EXPECTED}` },
        { severity: 'warning', message: NO_CA_WARNING },
      ]);
      expect(errorsWith({ url: '', token: '', secret: '' })).toHaveLength(3);
    });

    test.each([
      ['http://pve.example.com:8006', 'PROXMOX_URL "http://pve.example.com:8006" uses http, which would send the API token unencrypted (and Proxmox serves its API only over https); expected https://<host>[:port], like https://pve.example.com:8006'],
      ['pve.example.com', `PROXMOX_URL "pve.example.com" is not a URL; ${URL_EXPECTED}`],
      ['ftp://pve.example.com', `PROXMOX_URL "ftp://pve.example.com" is not an https URL; ${URL_EXPECTED}`],
      ['https://pve.example.com:8006/api2/json', `PROXMOX_URL "https://pve.example.com:8006/api2/json" ends in /api2/json, which CAPMOX appends itself; ${URL_EXPECTED}`],
      ['https://pve.example.com:8006/ui?x=1', `PROXMOX_URL "https://pve.example.com:8006/ui?…" has a path, query or fragment; ${URL_EXPECTED}`],
      [' https://pve.example.com:8006', `PROXMOX_URL " https://pve.example.com:8006" has leading or trailing whitespace; ${URL_EXPECTED}`],
    ])('fails on PROXMOX_URL %j', (url, message) => {
      expect(errorsWith({ url })).toEqual([message]);
    });

    test('fails on a URL with a password, showing it redacted', () => {
      const [message] = errorsWith({ url: 'https://root:hunter2@pve.example.com:8006' });
      expect(message).toBe('PROXMOX_URL "https://root:***@pve.example.com:8006" contains a user name or password; the API token goes in PROXMOX_TOKEN and PROXMOX_SECRET, the URL is only https://<host>[:port], like https://pve.example.com:8006');
    });

    // Whatever check fails first, the message shows the URL without password, query or fragment.
    test.each([
      ['https://root:hunter2@pve.example.com:8006', '"https://root:***@pve.example.com:8006" contains a user name or password'],
      ['https://root@pam:hunter2@pve.example.com:8006', '"https://***@pve.example.com:8006" contains a user name or password'],
      ['https://hunter2@pve.example.com:8006', '"https://***@pve.example.com:8006" contains a user name or password'],
      ['http://root:hunter2@pve.example.com:8006', '"http://root:***@pve.example.com:8006" contains a user name or password'],
      [' https://root:hunter2@pve.example.com:8006', '" https://root:***@pve.example.com:8006" has leading or trailing whitespace'],
      ['https://root:hunter2@pve.example.com:port', '"https://root:***@pve.example.com:port" is not a URL'],
      ['root:hunter2@pve.example.com', '"root:***@pve.example.com" is not an https URL'],
      ['https://pve.example.com:8006/?password=hunter2', '"https://pve.example.com:8006/?…" has a path, query or fragment'],
      ['https://pve.example.com:8006?password=hunter2', '"https://pve.example.com:8006?…" has a path, query or fragment'],
      ['https://pve.example.com:8006/#token=hunter2', '"https://pve.example.com:8006/#…" has a path, query or fragment'],
      ['http://pve.example.com:8006/?password=hunter2', '"http://pve.example.com:8006/?…" uses http'],
      ['https://pve.example.com:8006/api2/json?password=hunter2', '"https://pve.example.com:8006/api2/json?…" ends in /api2/json'],
      ['ftp://pve.example.com/?password=hunter2', '"ftp://pve.example.com/?…" is not an https URL'],
      ['https://pve.example.com?password=hunter2', '"https://pve.example.com?…" has a path, query or fragment'],
    ])('never echoes the password, query or fragment of PROXMOX_URL %j', (url, shown) => {
      const messages = proxmoxCredentialsProblems({ ...PROPS, url, rootCa: CA_PEM }).map((p) => p.message);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain(`PROXMOX_URL ${shown}`);
      expect(messages[0]).not.toContain('hunter2');
    });

    test('shows at most an 80-character excerpt of a long value', () => {
      const long = `https://${'p'.repeat(200)}.example.com:8006/x`;
      const [url] = errorsWith({ url: long });
      expect(url).toBe(`PROXMOX_URL ${JSON.stringify(`https://${'p'.repeat(69)}…`)} has a path, query or fragment; ${URL_EXPECTED}`);
      const [token] = errorsWith({ token: `capmox@pve!${'x'.repeat(200)} ` });
      expect(token).toMatch(/^PROXMOX_TOKEN "capmox@pve!x+…" has leading or trailing whitespace;/);
      expect(token.match(/"[^"]*"/)![0]).toHaveLength(80);
    });

    test.each([
      ['capmox@pve', 'PROXMOX_TOKEN "capmox@pve" is a user, not an API token ID; expected user@realm!tokenname, like capmox@pve!capi (create a token with: pveum user token add capmox@pve capi)'],
      ['capmox', `PROXMOX_TOKEN "capmox" is not an API token ID; expected ${TOKEN_EXPECTED}`],
      ['capmox@pve!', `PROXMOX_TOKEN "capmox@pve!" is not an API token ID; expected ${TOKEN_EXPECTED}`],
      ['capmox!capi', `PROXMOX_TOKEN "capmox!capi" is not an API token ID; expected ${TOKEN_EXPECTED}`],
      ['capmox@pve!capi ', `PROXMOX_TOKEN "capmox@pve!capi " has leading or trailing whitespace; expected the API token ID ${TOKEN_EXPECTED}`],
    ])('fails on PROXMOX_TOKEN %j', (token, message) => {
      expect(errorsWith({ token })).toEqual([message]);
    });

    test('fails on a token secret in PROXMOX_TOKEN, without echoing it', () => {
      expect(errorsWith({ token: `${TOKEN}=${SECRET}` })).toEqual([
        'PROXMOX_TOKEN looks like a whole API token, user@realm!tokenname=secret (value not shown); put the token ID before "=" in PROXMOX_TOKEN and the UUID after it in PROXMOX_SECRET',
      ]);
      expect(errorsWith({ token: SECRET })).toEqual([
        'PROXMOX_TOKEN looks like a token secret, a UUID (value not shown); PROXMOX_TOKEN is the token ID user@realm!tokenname, like capmox@pve!capi, and the UUID goes in PROXMOX_SECRET',
      ]);
    });

    test.each([
      ['not-a-uuid', `PROXMOX_SECRET is malformed (value not shown); ${SECRET_EXPECTED}`],
      ['00000000-0000-4000-8000-00000000000', `PROXMOX_SECRET is malformed (value not shown); ${SECRET_EXPECTED}`],
      [`${SECRET}\n`, `PROXMOX_SECRET is malformed (value not shown): it has leading or trailing whitespace; ${SECRET_EXPECTED}`],
      [TOKEN, `PROXMOX_SECRET is malformed (value not shown): it looks like a token ID (user@realm!tokenname), which goes in PROXMOX_TOKEN; ${SECRET_EXPECTED}`],
      [`${TOKEN}=${SECRET}`, `PROXMOX_SECRET is malformed (value not shown): it looks like a whole API token, user@realm!tokenname=secret; put the ID before "=" in PROXMOX_TOKEN and only the UUID after it here; ${SECRET_EXPECTED}`],
    ])('fails on a malformed PROXMOX_SECRET (case %#), never echoing it', (secret, message) => {
      const messages = errorsWith({ secret });
      expect(messages).toEqual([message]);
      expect(messages.join('\n')).not.toContain(secret.trim());
    });

    test('accepts an upper-case UUID as the secret', () => {
      expect(errorsWith({ secret: 'ABCDEF00-0000-4000-8000-000000000000' })).toEqual([]);
    });

    test.each([
      ['', `PROXMOX_ROOT_CA_FILE ca.pem is empty; expected ${CA_EXPECTED}`],
      ['hello', `PROXMOX_ROOT_CA_FILE ca.pem is not a PEM certificate (no -----BEGIN CERTIFICATE----- block); expected ${CA_EXPECTED} (convert a DER file with: openssl x509 -inform der -in <file> -out ca.pem)`],
      [`${CA_PEM}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`, `PROXMOX_ROOT_CA_FILE ca.pem contains a private key; it must hold only the CA certificate (${CA_EXPECTED})`],
      ['-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n', `PROXMOX_ROOT_CA_FILE ca.pem contains a private key; it must hold only the CA certificate (${CA_EXPECTED})`],
    ])('fails on a CA file that is not a certificate (case %#)', (rootCa, message) => {
      expect(errorsWith({ rootCa, rootCaFile: 'ca.pem' })).toEqual([message]);
    });

    test('fails on a certificate block that does not parse, naming which one', () => {
      const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
      const [message, ...rest] = errorsWith({ rootCa: `${CA_PEM}${broken}`, rootCaFile: 'ca.pem' });
      expect(rest).toEqual([]);
      expect(message).toMatch(new RegExp(`^PROXMOX_ROOT_CA_FILE ca\\.pem certificate 2 cannot be parsed \\(.+\\); expected ${CA_EXPECTED.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`));
    });
  });

  test('warns when the CA file holds a server certificate rather than a CA', () => {
    expect(warningsWith({ rootCa: LEAF_PEM, rootCaFile: 'pve-ssl.pem' })).toEqual([
      'PROXMOX_ROOT_CA_FILE pve-ssl.pem (CN=pve.example.com) is not a CA certificate, so CAPMOX trusts only this exact server certificate; prefer the CA that issued it (/etc/pve/pve-root-ca.pem on a Proxmox node)',
    ]);
  });

  test('reports nothing about a CA file the caller could not read (the caller says why)', () => {
    expect(proxmoxCredentialsProblems({ ...PROPS, rootCaFile: 'missing.pem' })).toEqual([]);
  });
});

describe('age recipients', () => {
  test('well-formed X25519 and plugin recipients pass', () => {
    expect(ageRecipientProblems([AGE_A, AGE_B, AGE_PLUGIN], '--age')).toEqual([]);
  });

  const expected = 'expected an age public key, age1… (62 characters; age-keygen prints it as "Public key:")';
  test.each([
    ['ssh-ed25519 AAAA', `--age "ssh-ed25519 AAAA" is not an age recipient; ${expected}`],
    [AGE_A.toUpperCase(), `--age "${AGE_A.toUpperCase()}" is not an age recipient; ${expected}`],
    [`age1${AGE_A.slice(4).toUpperCase()}`, `--age "age1${AGE_A.slice(4).toUpperCase()}" must be lower case; ${expected}`],
    [AGE_A.slice(0, -1), `--age "${AGE_A.slice(0, -1)}" is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); ${expected}`],
    [`${AGE_A.slice(0, 10)}b${AGE_A.slice(11)}`, `--age "${AGE_A.slice(0, 10)}b${AGE_A.slice(11)}" is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); ${expected}`],
    [`${AGE_A.slice(0, -1)}x`, `--age "${AGE_A.slice(0, -1)}x" is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); ${expected}`],
    [AGE_PLUGIN.replace('example', 'exampel'), `--age "${AGE_PLUGIN.replace('example', 'exampel')}" is not a well-formed age recipient or has a bad checksum (a typo or an incomplete copy?); ${expected}`],
  ])('fails on %j', (recipient, message) => {
    expect(ageRecipientProblems([recipient], '--age')).toEqual([message]);
  });

  test('fails on an age private key, without echoing it', () => {
    const identity = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
    expect(ageRecipientProblems([identity], 'SOPS_AGE_RECIPIENTS')).toEqual([
      'SOPS_AGE_RECIPIENTS is given an age identity, the private key (value not shown); pass its public key instead (age-keygen -y <key file> prints it) and keep the private key out of git',
    ]);
  });

  test('fails on an empty list', () => {
    expect(ageRecipientProblems([], '--age')).toEqual(['--age lists no age recipient; expected at least one age public key, age1…']);
  });
});

describe('.sops.yaml', () => {
  const RULE = {
    path_regex: '(^|/)secrets/.*\\.ya?ml$',
    encrypted_regex: '^(data|stringData)$',
    age: `${AGE_A},${AGE_B}`,
  };

  test('one creation rule for secrets/*.yaml, values only, comma-joined recipients', () => {
    const text = sopsConfigYaml([AGE_A, AGE_B, AGE_A]);
    expect(YAML.parse(text)).toStrictEqual({ creation_rules: [RULE] });
    expect(text).toBe([
      '# SOPS creation rules (npm run credentials). Files under secrets/ are encrypted for the age',
      '# recipients below; only data and stringData, because Flux needs apiVersion, kind and metadata',
      '# in plain text. The age private key stays out of git (Flux reads it from its decryption Secret).',
      '',
      'creation_rules:',
      '  - path_regex: (^|/)secrets/.*\\.ya?ml$',
      '    encrypted_regex: ^(data|stringData)$',
      `    age: ${AGE_A},${AGE_B}`,
      '',
    ].join('\n'));
  });

  test('the path rule matches files under secrets/, relative or absolute, and nothing else', () => {
    const re = new RegExp(RULE.path_regex);
    expect(['secrets/homelab/proxmox-credentials.yaml', 'secrets/a.yml', '/repo/secrets/homelab/x.yaml'].every((p) => re.test(p))).toBe(true);
    expect(['dist/homelab/homelab.k8s.yaml', 'mysecrets/a.yaml', 'secrets/a.json', 'clusters/homelab.yaml'].some((p) => re.test(p))).toBe(false);
  });

  test('fails on malformed recipients, naming the source', () => {
    expect(() => sopsConfigYaml(['age1nope'], 'SOPS_AGE_RECIPIENTS')).toThrow(/^SOPS_AGE_RECIPIENTS "age1nope" is not a well-formed age recipient/);
  });

  test('update: a missing or empty file gets the fresh text', () => {
    expect(updateSopsConfig(undefined, [AGE_A])).toBe(sopsConfigYaml([AGE_A]));
    expect(updateSopsConfig('\n', [AGE_A])).toBe(sopsConfigYaml([AGE_A]));
  });

  test('update: replaces this project\'s rule, puts it first, keeps other rules and comments', () => {
    const existing = [
      '# team keys',
      'creation_rules:',
      '  - path_regex: \\.env$   # dotenv files',
      '    age: age1other',
      '  - path_regex: (^|/)secrets/.*\\.ya?ml$',
      '    encrypted_regex: ^(data|stringData)$',
      `    age: ${AGE_A}`,
      '',
    ].join('\n');
    const text = updateSopsConfig(existing, [AGE_B]);
    expect(YAML.parse(text)).toStrictEqual({
      creation_rules: [
        { ...RULE, age: AGE_B },
        { path_regex: '\\.env$', age: 'age1other' },
      ],
    });
    expect(text).toContain('# team keys');
    expect(text).toContain('# dotenv files');
    expect(updateSopsConfig(text, [AGE_B])).toBe(text);
  });

  test('update: adds creation_rules to a config without them', () => {
    expect(YAML.parse(updateSopsConfig('stores:\n  yaml:\n    indent: 2\n', [AGE_A]))).toStrictEqual({
      stores: { yaml: { indent: 2 } },
      creation_rules: [{ ...RULE, age: AGE_A }],
    });
  });

  test('update: fails on a file that is not a sops config', () => {
    expect(() => updateSopsConfig('creation_rules: [1, 2\n', [AGE_A])).toThrow(/^\.sops\.yaml is not valid YAML \(line \d+, column \d+: [^\n]+\); fix or delete it$/);
    expect(() => updateSopsConfig('- a\n', [AGE_A])).toThrow('.sops.yaml is not a YAML mapping; expected a sops config with creation_rules (fix or delete it)');
    expect(() => updateSopsConfig('creation_rules: yes\n', [AGE_A])).toThrow('.sops.yaml: creation_rules is not a list; fix or delete it');
  });

  test('reads back the recipients of this project\'s rule', () => {
    expect(sopsConfigRecipients(sopsConfigYaml([AGE_A, AGE_B]))).toEqual([AGE_A, AGE_B]);
    expect(sopsConfigRecipients('creation_rules: []\n')).toBeUndefined();
    expect(sopsConfigRecipients(': bad')).toBeUndefined();
  });

  describe('checking an existing config for a file', () => {
    const FILE = 'secrets/homelab/proxmox-credentials.yaml';

    test('this project\'s config fits', () => {
      expect(sopsConfigProblems(sopsConfigYaml([AGE_A]), FILE)).toEqual([]);
      expect(sopsConfigProblems('creation_rules:\n  - unencrypted_regex: ^(apiVersion|kind|metadata|type)$\n    age: x\n', FILE)).toEqual([]);
    });

    test('fails without creation rules or without one that matches', () => {
      expect(sopsConfigProblems('stores: {}\n', FILE)).toEqual([
        '.sops.yaml has no creation_rules, so sops cannot encrypt secrets/homelab/proxmox-credentials.yaml; add one with: npm run credentials -- <cluster> --age <age1… public key>',
      ]);
      expect(sopsConfigProblems('creation_rules:\n  - path_regex: \\.env$\n    age: x\n', FILE)).toEqual([
        'no creation rule in .sops.yaml matches secrets/homelab/proxmox-credentials.yaml, so sops cannot encrypt it; add one with: npm run credentials -- <cluster> --age <age1… public key>',
      ]);
    });

    test('fails on a rule that would encrypt what Flux needs in plain text, or leave stringData plain', () => {
      expect(sopsConfigProblems('creation_rules:\n  - age: x\n', FILE)).toEqual([
        'the .sops.yaml rule for secrets/homelab/proxmox-credentials.yaml has no encrypted_regex, so sops would encrypt every value; Flux needs apiVersion, kind and metadata in plain text (encrypted_regex: ^(data|stringData)$)',
      ]);
      expect(sopsConfigProblems('creation_rules:\n  - encrypted_regex: ^(kind|data|stringData)$\n', FILE)).toEqual([
        'the .sops.yaml rule for secrets/homelab/proxmox-credentials.yaml encrypts kind; Flux needs apiVersion, kind and metadata in plain text (encrypted_regex: ^(data|stringData)$)',
      ]);
      expect(sopsConfigProblems('creation_rules:\n  - encrypted_regex: ^data$\n', FILE)).toEqual([
        'the .sops.yaml rule for secrets/homelab/proxmox-credentials.yaml does not encrypt stringData (encrypted_regex ^data$), so the token would stay in plain text; use encrypted_regex: ^(data|stringData)$',
      ]);
    });

    test('the first matching rule decides, as in sops', () => {
      const text = 'creation_rules:\n  - path_regex: secrets/\n    age: x\n  - path_regex: secrets/\n    encrypted_regex: ^(data|stringData)$\n';
      expect(sopsConfigProblems(text, FILE)).toHaveLength(1);
    });
  });
});

describe('isSopsEncrypted', () => {
  test('true for a file with a top-level sops key, also one that no longer parses', () => {
    expect(isSopsEncrypted('kind: Secret\nsops:\n  mac: ENC[x]\n')).toBe(true);
    expect(isSopsEncrypted('{"kind": "Secret", "sops": {"mac": "x"}}')).toBe(true);
    expect(isSopsEncrypted('kind: Secret\nsops:\n  mac: [broken\n')).toBe(true);
  });

  test('false for a plain Secret, even one mentioning sops below the top level', () => {
    expect(isSopsEncrypted(proxmoxCredentialsSecretYaml(PROPS))).toBe(false);
    expect(isSopsEncrypted('metadata:\n  sops: no\n')).toBe(false);
  });
});

describe('values in messages', () => {
  test('excerpt quotes a value and cuts it to 80 characters, quotes and "…" included', () => {
    expect(excerpt('capmox@pve')).toBe('"capmox@pve"');
    expect(excerpt('a\nb')).toBe('"a\\nb"');
    expect(excerpt('x'.repeat(78))).toBe(`"${'x'.repeat(78)}"`);
    expect(excerpt('x'.repeat(79))).toBe(`"${'x'.repeat(77)}…"`);
    // Escapes count, and are never cut in half.
    const cut = excerpt('\n'.repeat(100));
    expect(cut.length).toBeLessThanOrEqual(80);
    expect(cut).toMatch(/^"(\\n)+…"$/);
  });

  test.each([
    ['https://pve.example.com:8006', 'https://pve.example.com:8006'],
    ['https://root:pw@pve:8006', 'https://root:***@pve:8006'],
    ['https://root:p@ss@pve:8006/x', 'https://root:***@pve:8006/x'],
    ['https://capmox@pve!capi:pw@pve:8006', 'https://***@pve:8006'],
    ['https://00000000-0000-4000-8000-000000000000:x@pve', 'https://***@pve'],
    ['https://token@pve:8006', 'https://***@pve:8006'],
    ['https://pve:8006/?password=pw&x=1', 'https://pve:8006/?…'],
    ['https://pve:8006/#pw', 'https://pve:8006/#…'],
    ['user:pw@pve', 'user:***@pve'],
  ])('redactUrl(%j) is %j', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  test('an age recipient that is some other private key is not echoed', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----';
    expect(ageRecipientProblems([key], '--age')).toEqual([
      '--age is given a private key (value not shown); expected an age public key, age1…, and keep private keys out of git',
    ]);
  });

  test('a long age recipient is shown as an excerpt', () => {
    const [problem] = ageRecipientProblems([`age1${'q'.repeat(300)}`], '--age');
    expect(problem).toMatch(/^--age "age1q+…" is not a well-formed age recipient/);
    expect(problem.match(/"[^"]*"/)![0]).toHaveLength(80);
  });
});
