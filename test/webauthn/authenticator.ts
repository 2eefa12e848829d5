/**
 * A software authenticator for tests: WebCrypto keys, hand-built authenticatorData
 * (WebAuthn L3 §6.1), a CBOR attestationObject (§6.5.4) and clientDataJSON (§5.8.1), in the
 * JSON a browser's PublicKeyCredential.toJSON() sends. Every field can be forged via options.
 */
import { encodeBase64urlNoPadding as b64url, decodeBase64urlIgnorePadding } from '@oslojs/encoding';
import { encodeCbor, type CborValue } from './cbor';

export type Algorithm = -7 | -8 | -257;

const GENERATE: Record<Algorithm, SubtleCryptoGenerateKeyAlgorithm> = {
  [-7]: { name: 'ECDSA', namedCurve: 'P-256' },
  [-8]: { name: 'Ed25519' },
  [-257]: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};
const SIGN: Record<Algorithm, SubtleCryptoSignAlgorithm> = {
  [-7]: { name: 'ECDSA', hash: 'SHA-256' },
  [-8]: { name: 'Ed25519' },
  [-257]: { name: 'RSASSA-PKCS1-v1_5' },
};

export const RP_ID = 'example.com';
export const ORIGIN = 'https://example.com';
export const USER_HANDLE = new Uint8Array(32).fill(7);

export type Flags = { up?: boolean; uv?: boolean; be?: boolean; bs?: boolean; at?: boolean; ed?: boolean };

/** Fields of clientDataJSON and authenticatorData to forge; defaults are a valid ceremony. */
export type Forge = {
  type?: string;
  challenge?: Uint8Array;
  origin?: string;
  crossOrigin?: boolean;
  topOrigin?: string;
  /** Replaces the whole clientDataJSON. */
  clientDataJSON?: Uint8Array;
  rpId?: string;
  flags?: Flags;
  signCount?: number;
  /** Bytes appended to authenticatorData (after the key or extensions). */
  trailing?: Uint8Array;
  extensions?: CborValue;
};

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const fromB64url = (text: string): Uint8Array => decodeBase64urlIgnorePadding(text);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** raw r || s (WebCrypto) to the DER SEQUENCE { INTEGER r, INTEGER s } WebAuthn sends. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const integer = (value: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const trimmed = value.subarray(start);
    const body = trimmed[0]! & 0x80 ? concat(Uint8Array.of(0), trimmed) : trimmed;
    return concat(Uint8Array.of(0x02, body.length), body);
  };
  const body = concat(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

export function clientDataJSON(defaults: { type: string; challenge: Uint8Array }, forge: Forge): Uint8Array {
  if (forge.clientDataJSON) return forge.clientDataJSON;
  const data: Record<string, unknown> = {
    type: forge.type ?? defaults.type,
    challenge: b64url(forge.challenge ?? defaults.challenge),
    origin: forge.origin ?? ORIGIN,
    crossOrigin: forge.crossOrigin ?? false,
  };
  if (forge.topOrigin !== undefined) data.topOrigin = forge.topOrigin;
  return bytesOf(JSON.stringify(data));
}

export class SoftwareAuthenticator {
  signCount = 0;
  private constructor(
    readonly algorithm: Algorithm,
    readonly keys: CryptoKeyPair,
    readonly credentialId: Uint8Array,
    readonly coseKey: Map<number, CborValue>,
    /** Backup eligibility, fixed at creation (§6.1.3). */
    readonly backupEligible: boolean,
  ) {}

  static async create(algorithm: Algorithm, options: { credentialId?: Uint8Array; backupEligible?: boolean } = {}) {
    const keys = (await crypto.subtle.generateKey(GENERATE[algorithm], true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey;
    const cose = new Map<number, CborValue>();
    if (algorithm === -7) [[1, 2], [3, -7], [-1, 1], [-2, fromB64url(jwk.x!)], [-3, fromB64url(jwk.y!)]].forEach(([k, v]) => cose.set(k as number, v as CborValue));
    if (algorithm === -8) [[1, 1], [3, -8], [-1, 6], [-2, fromB64url(jwk.x!)]].forEach(([k, v]) => cose.set(k as number, v as CborValue));
    if (algorithm === -257) [[1, 3], [3, -257], [-1, fromB64url(jwk.n!)], [-2, fromB64url(jwk.e!)]].forEach(([k, v]) => cose.set(k as number, v as CborValue));
    const id = options.credentialId ?? crypto.getRandomValues(new Uint8Array(16));
    return new SoftwareAuthenticator(algorithm, keys, id, cose, options.backupEligible ?? false);
  }

  async authenticatorData(forge: Forge, attested: Uint8Array | null): Promise<Uint8Array> {
    const f = forge.flags ?? {};
    const be = f.be ?? this.backupEligible;
    const at = f.at ?? attested !== null;
    const ed = f.ed ?? forge.extensions !== undefined;
    const flags = (f.up ?? true ? 0x01 : 0) | (f.uv ?? true ? 0x04 : 0) | (be ? 0x08 : 0) | (f.bs ?? be ? 0x10 : 0) | (at ? 0x40 : 0) | (ed ? 0x80 : 0);
    const count = forge.signCount ?? this.signCount;
    const counter = Uint8Array.of((count >>> 24) & 0xff, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
    return concat(
      await sha256(bytesOf(forge.rpId ?? RP_ID)),
      Uint8Array.of(flags),
      counter,
      attested ?? new Uint8Array(0),
      forge.extensions !== undefined ? encodeCbor(forge.extensions) : new Uint8Array(0),
      forge.trailing ?? new Uint8Array(0),
    );
  }

  /** Attested credential data (§6.5.2): aaguid, length, id, COSE key. */
  attestedCredentialData(coseKey: CborValue = this.coseKey): Uint8Array {
    const id = this.credentialId;
    return concat(new Uint8Array(16), Uint8Array.of(id.length >> 8, id.length & 0xff), id, encodeCbor(coseKey));
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const signature = new Uint8Array(await crypto.subtle.sign(SIGN[this.algorithm], this.keys.privateKey, message));
    return this.algorithm === -7 ? rawToDer(signature) : signature;
  }

  /** navigator.credentials.create(), as RegistrationResponseJSON. */
  async register(
    challenge: Uint8Array,
    forge: Forge & { fmt?: string; attStmt?: CborValue; coseKey?: CborValue; selfAttest?: boolean; transports?: string[] } = {},
  ) {
    const cData = clientDataJSON({ type: 'webauthn.create', challenge }, forge);
    const authData = await this.authenticatorData(forge, this.attestedCredentialData(forge.coseKey));
    let attStmt: CborValue = forge.attStmt ?? {};
    if (forge.selfAttest) attStmt = { alg: this.algorithm, sig: await this.sign(concat(authData, await sha256(cData))) };
    const attestationObject = encodeCbor({ fmt: forge.fmt ?? (forge.selfAttest ? 'packed' : 'none'), attStmt, authData });
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(cData),
        attestationObject: b64url(attestationObject),
        transports: forge.transports ?? ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get(), as AuthenticationResponseJSON. Advances the counter unless forged. */
  async assert(
    challenge: Uint8Array,
    forge: Forge & { userHandle?: Uint8Array | null; tamper?: boolean; credentialId?: Uint8Array; signature?: Uint8Array } = {},
  ) {
    if (forge.signCount === undefined && this.signCount > 0) this.signCount++;
    const cData = clientDataJSON({ type: 'webauthn.get', challenge }, forge);
    const authData = await this.authenticatorData(forge, null);
    const signature = forge.signature ?? (await this.sign(concat(authData, await sha256(cData))));
    if (forge.tamper) signature[signature.length - 1]! ^= 1;
    const id = forge.credentialId ?? this.credentialId;
    const userHandle = forge.userHandle === undefined ? USER_HANDLE : forge.userHandle;
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(cData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle === null ? {} : { userHandle: b64url(userHandle) }),
      },
      clientExtensionResults: {},
    };
  }
}
