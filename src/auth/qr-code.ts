/**
 * A QR code (ISO/IEC 18004:2015) of bytes: byte mode, error correction level M,
 * the smallest version (1 to 40) that holds them, the mask of lowest penalty.
 * Only what an otpauth URI needs, so a fraction of a general encoder's size
 * (the Worker's bundle budget); the layout follows Project Nayuki's reference
 * encoder. test/auth/qr-code.test.ts decodes what it draws.
 */

/** §7.5.1 Table 9, level M: error correction codewords per block and blocks, versions 1 to 40. */
const ECC_PER_BLOCK = [
  10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
];
const BLOCKS = [
  1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
];

/** Modules left for codewords once the function patterns are drawn (§7.1). */
function rawDataModules(version: number): number {
  let modules = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    modules -= (25 * align - 10) * align - 55;
    if (version >= 7) modules -= 36;
  }
  return modules;
}

const dataCodewords = (version: number) => (rawDataModules(version) >> 3) - ECC_PER_BLOCK[version - 1]! * BLOCKS[version - 1]!;

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (§7.5.2). */
function gfMultiply(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

/** The Reed-Solomon generator polynomial of `degree`, leading 1 omitted. */
function rsDivisor(degree: number): number[] {
  const divisor = new Array<number>(degree).fill(0);
  divisor[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) divisor[j] = gfMultiply(divisor[j]!, root) ^ (divisor[j + 1] ?? 0);
    root = gfMultiply(root, 2);
  }
  return divisor;
}

function rsRemainder(data: number[], divisor: number[]): number[] {
  const remainder = divisor.map(() => 0);
  for (const byte of data) {
    const factor = byte ^ remainder.shift()!;
    remainder.push(0);
    divisor.forEach((coefficient, i) => (remainder[i]! ^= gfMultiply(coefficient, factor)));
  }
  return remainder;
}

/** §7.4: mode, count, data, terminator and pad codewords; then §7.5 and §7.6: blocks with their ECC, interleaved. */
function codewords(bytes: Uint8Array, version: number): number[] {
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  for (const byte of bytes) put(byte, 8);
  const capacityBits = dataCodewords(version) * 8;
  put(0, Math.min(4, capacityBits - bits.length));
  put(0, -bits.length & 7);
  for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) put(pad, 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((byte, bit) => (byte << 1) | bit, 0));

  const blockCount = BLOCKS[version - 1]!;
  const eccLength = ECC_PER_BLOCK[version - 1]!;
  const raw = rawDataModules(version) >> 3;
  const shortBlocks = blockCount - (raw % blockCount);
  const shortLength = Math.floor(raw / blockCount);
  const divisor = rsDivisor(eccLength);
  const blocks: number[][] = [];
  for (let i = 0, k = 0; i < blockCount; i++) {
    const block = data.slice(k, k + shortLength - eccLength + (i < shortBlocks ? 0 : 1));
    k += block.length;
    const ecc = rsRemainder(block, divisor);
    if (i < shortBlocks) block.push(0);
    blocks.push(block.concat(ecc));
  }
  const out: number[] = [];
  for (let i = 0; i <= shortLength; i++) {
    blocks.forEach((block, j) => {
      // The placeholder byte that evens out the short blocks is skipped.
      if (i !== shortLength - eccLength || j >= shortBlocks) out.push(block[i]!);
    });
  }
  return out;
}

/** §7.8.2 Table 10. */
const MASKS: Array<(x: number, y: number) => boolean> = [
  (x, y) => (x + y) % 2 === 0,
  (_, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

/** §7.8.3: runs of 5 or more (N1), 2×2 blocks (N2), finder-like 1:1:3:1:1 (N3), dark share (N4). */
function penalty(grid: boolean[][]): number {
  const size = grid.length;
  const lines: string[] = [];
  for (let i = 0; i < size; i++) {
    lines.push(grid[i]!.map(Number).join(''), grid.map((row) => Number(row[i])).join(''));
  }
  let score = 0;
  for (const line of lines) {
    for (const run of line.match(/0{5,}|1{5,}/g) ?? []) score += run.length - 2;
    score += 40 * (line.match(/(?=10111010000|00001011101)/g)?.length ?? 0);
  }
  let dark = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const here = grid[y]![x]!;
      if (here) dark++;
      if (x + 1 < size && y + 1 < size && here === grid[y]![x + 1] && here === grid[y + 1]![x] && here === grid[y + 1]![x + 1]) score += 3;
    }
  }
  const total = size * size;
  return score + 10 * (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1);
}

/** The module grid, `true` dark, without the quiet zone; rows top to bottom. Throws if the bytes exceed version 40. */
export function qrMatrix(bytes: Uint8Array): boolean[][] {
  let version = 1;
  while ((version < 10 ? 12 : 20) + bytes.length * 8 > dataCodewords(version) * 8) {
    if (++version > 40) throw new RangeError('too long for a QR code');
  }
  const size = version * 4 + 17;
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const set = (x: number, y: number, dark: boolean) => {
    grid[y]![x] = dark;
    fixed[y]![x] = true;
  };

  // §6.3.5 timing patterns, §6.3.3 finder patterns with their separators.
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const distance = Math.max(Math.abs(dx), Math.abs(dy));
        const x = cx + dx;
        const y = cy + dy;
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, distance !== 2 && distance !== 4);
      }
    }
  }
  // §6.3.6 alignment patterns, Annex E positions.
  if (version > 1) {
    const count = Math.floor(version / 7) + 2;
    const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
    const positions = [6];
    for (let at = size - 7; positions.length < count; at -= step) positions.splice(1, 0, at);
    positions.forEach((cx, i) =>
      positions.forEach((cy, j) => {
        if ((i === 0 && (j === 0 || j === count - 1)) || (i === count - 1 && j === 0)) return;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }),
    );
  }
  // §7.9: format information (level M is 00), BCH(15,5) masked with 101010000010010; the dark module.
  const drawFormat = (mask: number) => {
    let remainder = mask;
    for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
    const bits = ((mask << 10) | remainder) ^ 0x5412;
    const bit = (i: number) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
    set(8, size - 8, true);
  };
  drawFormat(0);
  // §7.10: version information from version 7, BCH(18,6).
  if (version >= 7) {
    let remainder = version;
    for (let i = 0; i < 12; i++) remainder = (remainder << 1) ^ ((remainder >>> 11) * 0x1f25);
    const bits = (version << 12) | remainder;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      set(size - 11 + (i % 3), Math.floor(i / 3), dark);
      set(Math.floor(i / 3), size - 11 + (i % 3), dark);
    }
  }

  // §7.7.3: codewords in two-module columns, right to left, zigzagging up and down, skipping the timing column.
  const data = codewords(bytes, version);
  let index = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < size; step++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const y = ((right + 1) & 2) === 0 ? size - 1 - step : step;
        if (!fixed[y]![x] && index < data.length * 8) {
          grid[y]![x] = ((data[index >>> 3]! >>> (7 - (index & 7))) & 1) === 1;
          index++;
        }
      }
    }
  }

  // §7.8: the mask of lowest penalty, its format information drawn with it.
  const masked = (mask: number) => {
    drawFormat(mask);
    return grid.map((row, y) => row.map((dark, x) => (!fixed[y]![x] && MASKS[mask]!(x, y) ? !dark : dark)));
  };
  let best = masked(0);
  let bestScore = penalty(best);
  for (let mask = 1; mask < 8; mask++) {
    const candidate = masked(mask);
    const score = penalty(candidate);
    if (score < bestScore) [best, bestScore] = [candidate, score];
  }
  return best;
}
