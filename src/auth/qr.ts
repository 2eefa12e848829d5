import { base64Encode } from '../crypto/base64';
import { qrMatrix } from './qr-code';

/** ISO/IEC 18004 §6.3.8: a light margin of 4 modules around the symbol. */
const QUIET_ZONE_MODULES = 4;
/** The intrinsic size is a whole number of pixels a module, at least this: what `rsvg-convert` draws (README). */
const MIN_WIDTH_PX = 256;

/**
 * The otpauth URI as an SVG QR code (src/auth/qr-code.ts). Error correction M
 * survives a phone camera at an angle. The SVG is one light square and one
 * path of dark runs, one unit per module: the URI (and so the username) is
 * never written into it as text, and it scales to any size without blur.
 */
export function qrSvg(uri: string): string {
  const grid = qrMatrix(new TextEncoder().encode(uri));
  const size = grid.length + 2 * QUIET_ZONE_MODULES;
  let path = '';
  grid.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      const start = x;
      while (row[x + 1]) x++;
      const run = x - start + 1;
      path += `M${start + QUIET_ZONE_MODULES} ${y + QUIET_ZONE_MODULES}h${run}v1h-${run}z`;
    }
  });
  const widthPx = size * Math.ceil(MIN_WIDTH_PX / size);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${widthPx}" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path d="${path}"/></svg>`;
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${base64Encode(new TextEncoder().encode(svg))}`;
}
