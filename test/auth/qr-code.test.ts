import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { qrMatrix } from '../../src/auth/qr-code';
import { qrSvg } from '../../src/auth/qr';

/** The SVG's dark runs (`M x y h n v1 h-n z`, one unit per module) as an RGBA bitmap, `scale` pixels a module. */
function rasterize(svg: string, scale = 3): { pixels: Uint8ClampedArray; width: number } {
  const size = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)![1]);
  const width = size * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  for (const [, x, y, run] of svg.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let py = Number(y) * scale; py < (Number(y) + 1) * scale; py++) {
      for (let px = Number(x) * scale; px < (Number(x) + Number(run)) * scale; px++) pixels.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3);
    }
  }
  return { pixels, width };
}

function decode(svg: string): string | undefined {
  const { pixels, width } = rasterize(svg);
  return jsQR(pixels, width, width)?.data;
}

const text = (length: number) => Array.from({ length }, (_, i) => 'otpauth://totp/Ab%20cd?secret=XYZ234&issuer=0189'[(i * 7 + length) % 46]).join('');

describe('the QR code of /qrcode (ISO/IEC 18004, byte mode, level M)', () => {
  it('decodes to the exact otpauth URI, hostile characters percent-encoded as /create-otp gives them', () => {
    const uri = 'otpauth://totp/edge-mfa:Jane%20Doe%20%3Cscript%3E?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=edge-mfa&algorithm=SHA1&digits=6&period=30';
    const svg = qrSvg(uri);
    expect(decode(svg)).toBe(uri);
    // Only the light square and the dark path: no text of the URI in the markup.
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 (\d+) \1" shape-rendering="crispEdges"><rect width="\1" height="\1" fill="#fff"\/><path d="[Mhvz0-9 -]+"\/><\/svg>$/);
  });

  it('decodes at every kind of layout: one block and many, with and without version information (7+), 8- and 16-bit counts (10+)', () => {
    for (const length of [1, 14, 15, 42, 84, 122, 153, 213, 331, 600, 1000]) expect(decode(qrSvg(text(length)))).toBe(text(length));
  });

  it('picks the smallest version that holds the bytes (the level M capacities of §7.4.10 Table 7)', () => {
    const version = (length: number) => (qrMatrix(new Uint8Array(length)).length - 17) / 4;
    const capacities = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
    capacities.forEach((bytes, i) => {
      expect(version(bytes)).toBe(i + 1);
      expect(version(bytes + 1)).toBe(i + 2);
    });
    expect(version(2331)).toBe(40);
  });

  it('refuses what no version holds, rather than drawing a code that would not scan', () => {
    expect(() => qrMatrix(new Uint8Array(2332))).toThrow(RangeError);
  });

  it('leaves the quiet zone of 4 light modules (§6.3.8) around the symbol', () => {
    const svg = qrSvg(text(50));
    const size = Number(/viewBox="0 0 (\d+) /.exec(svg)![1]);
    const runs = [...svg.matchAll(/M(\d+) (\d+)h(\d+)/g)].map(([, x, y, run]) => [Number(x), Number(y), Number(run)] as const);
    expect(Math.min(...runs.map(([x]) => x))).toBe(4);
    expect(Math.min(...runs.map(([, y]) => y))).toBe(4);
    expect(Math.max(...runs.map(([x, , run]) => x + run))).toBe(size - 4);
    expect(Math.max(...runs.map(([, y]) => y + 1))).toBe(size - 4);
  });
});
