import QRCode from 'qrcode-svg';
import { base64Encode } from '../../crypto/base64';

/**
 * The otpauth URI as an SVG QR code. Error correction M survives a phone
 * camera at an angle; the quiet zone of 4 modules is what ISO/IEC 18004 asks.
 * The SVG contains only rectangles: the URI (and so the username) is never
 * written into it as text.
 */
export function qrSvg(uri: string): string {
  return new QRCode({ content: uri, ecl: 'M', padding: 4, width: 256, height: 256, join: true, container: 'svg-viewbox' }).svg();
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${base64Encode(new TextEncoder().encode(svg))}`;
}
