/**
 * Copy buttons for the setup key and the recovery codes, for a person who
 * enrolls on the phone itself and cannot scan their own screen. The Clipboard
 * API where the browser allows it; else a hidden textarea and execCommand.
 * The result is said in the button's own status line ("Copied").
 */
import { confirmNear } from './view';

async function writeText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (permissions, focus): try the old way below.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Wires `button` to copy what `text()` returns; focus stays on the button, the status line speaks. */
export function copyButton(button: HTMLButtonElement, what: string, text: () => string): void {
  button.addEventListener('click', () => {
    void (async () => {
      const copied = await writeText(text());
      confirmNear(button, copied ? 'Copied ' + what + '.' : 'Could not copy: select the ' + what + ' and copy it by hand.', false);
    })();
  });
}
