// A message's pictures and files in the browser: the same markup as
// views/partials/attachments.ejs, built as DOM (names are text, never HTML).
import type { AttachmentDto } from '../shared/protocol.js';
import { formatSize, isPicture, typeLabel } from '../shared/files.js';
import { el } from './util.js';

export function attachmentList(attachments: AttachmentDto[]): HTMLUListElement {
  const list = el('ul', { className: 'attachments' });
  for (const a of attachments) {
    const link = el('a');
    link.href = `/attachments/${encodeURIComponent(a.id)}`;
    if (isPicture(a.type) && a.thumbWidth && a.thumbHeight) {
      link.target = '_blank';
      link.rel = 'noopener';
      const img = el('img');
      img.src = `/attachments/${encodeURIComponent(a.id)}/thumb`;
      img.width = a.thumbWidth;
      img.height = a.thumbHeight;
      img.alt = a.name;
      img.decoding = 'async';
      link.append(img);
      list.append(el('li', { className: 'attachment picture' }, link));
    } else {
      link.download = '';
      const icon = el('span', { className: 'file-icon', text: '📄' });
      icon.setAttribute('aria-hidden', 'true');
      link.append(
        icon,
        el('span', { className: 'file-name' }, el('bdi', { text: a.name })),
        document.createTextNode(' '),
        el('span', {
          className: 'file-meta',
          text: `${typeLabel(a.type, a.name)} · ${formatSize(a.size)}`,
        }),
      );
      list.append(el('li', { className: 'attachment file' }, link));
    }
  }
  return list;
}

/** Puts the files in a message item built from the page's template (before its text). */
export function showAttachments(li: HTMLElement, attachments: AttachmentDto[] | undefined): void {
  li.querySelector('.attachments')?.remove();
  if (!attachments?.length) return;
  li.querySelector('.bubble')?.prepend(attachmentList(attachments));
}
