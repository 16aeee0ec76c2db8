// The composer's files: chosen with "Attach", dropped on the conversation, or pasted. Each
// uploads at once on its own request (progress bar, Cancel) and becomes a pending
// attachment of the sender; the message goes when every file is stored, naming them.
import type { AttachmentDto } from '../shared/protocol.js';
import { formatSize } from '../shared/files.js';
import { el } from './util.js';

interface Upload {
  file: File;
  li: HTMLLIElement;
  xhr?: XMLHttpRequest;
  stored?: AttachmentDto;
  error?: string;
  done: Promise<void>;
}

export interface Tray {
  /** Files in the composer, stored or not. */
  count(): number;
  /** Waits for every upload in flight; then the stored files, or the first problem in words. */
  settle(): Promise<{ stored: AttachmentDto[]; problem?: string }>;
  /** Empties the composer's list, leaving the stored files to the message that takes them. */
  clear(): void;
}

export function startAttachments(
  form: HTMLFormElement,
  conversationId: number,
  dropZone: HTMLElement,
  box: HTMLTextAreaElement,
): Tray {
  const input = document.getElementById('composer-files') as HTMLInputElement;
  const list = document.getElementById('uploads') as HTMLUListElement;
  const maxBytes = Number(input.dataset.maxBytes);
  const maxFiles = Number(input.dataset.maxFiles);
  const token = () => (form.querySelector('input[name="_csrf"]') as HTMLInputElement).value;
  const uploads: Upload[] = [];

  const refresh = () => {
    list.hidden = uploads.length === 0;
  };

  function remove(u: Upload) {
    u.xhr?.abort();
    if (u.stored) {
      // Taken back out: the server forgets it now rather than at the next sweep.
      void fetch(`/attachments/${encodeURIComponent(u.stored.id)}`, {
        method: 'DELETE',
        credentials: 'same-origin',
        headers: { 'x-csrf-token': token() },
      }).catch(() => undefined);
    }
    uploads.splice(uploads.indexOf(u), 1);
    u.li.remove();
    refresh();
  }

  function add(file: File) {
    const name = el('span', { className: 'upload-name' }, el('bdi', { text: file.name }));
    const size = el('span', { className: 'upload-size', text: formatSize(file.size) });
    const bar = el('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `Uploading ${file.name}`);
    const status = el('span', { className: 'upload-status', text: 'Uploading…' });
    const cancel = el('button', { className: 'secondary', text: 'Cancel' });
    cancel.type = 'button';
    cancel.setAttribute('aria-label', `Cancel ${file.name}`);
    const li = el('li', { className: 'upload' }, name, size, bar, status, cancel);
    const u: Upload = { file, li, done: Promise.resolve() };
    cancel.addEventListener('click', () => remove(u));
    uploads.push(u);
    list.append(li);
    refresh();

    const fail = (why: string) => {
      u.error = why;
      li.classList.add('failed');
      bar.remove();
      status.textContent = why;
      cancel.textContent = 'Remove';
      cancel.setAttribute('aria-label', `Remove ${file.name}`);
    };
    // Refused here before a byte is sent, with the same words the server would use.
    if (uploads.length > maxFiles) return fail(`At most ${maxFiles} files go with one message.`);
    if (file.size > maxBytes)
      return fail(`That file is too big: files can be at most ${formatSize(maxBytes)}.`);
    if (file.size === 0) return fail('That file is empty: there is nothing to send.');

    const xhr = new XMLHttpRequest();
    u.xhr = xhr;
    u.done = new Promise<void>((resolve) => {
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
        if (e.loaded === e.total) status.textContent = 'Checking…';
      });
      xhr.addEventListener('load', () => {
        u.xhr = undefined;
        let answer: { ok?: boolean; attachment?: AttachmentDto; error?: { message?: string } } = {};
        try {
          answer = JSON.parse(xhr.responseText) as typeof answer;
        } catch {
          // not JSON: a proxy's error page
        }
        if (xhr.status === 201 && answer.ok && answer.attachment) {
          u.stored = answer.attachment;
          li.classList.add('stored');
          bar.value = 100;
          status.textContent = 'Ready';
          cancel.textContent = 'Remove';
          cancel.setAttribute('aria-label', `Remove ${file.name}`);
        } else {
          fail(answer.error?.message ?? `Not attached (error ${xhr.status}).`);
        }
        resolve();
      });
      xhr.addEventListener('error', () => {
        u.xhr = undefined;
        fail('Not attached: the connection failed.');
        resolve();
      });
      xhr.addEventListener('abort', () => {
        u.xhr = undefined;
        resolve();
      });
    });
    const data = new FormData();
    data.append('file', file, file.name);
    xhr.open('POST', `/conversations/${conversationId}/attachments`);
    xhr.setRequestHeader('x-csrf-token', token());
    xhr.setRequestHeader('accept', 'application/json');
    xhr.send(data);
  }

  const addAll = (files: Iterable<File>) => {
    for (const f of files) add(f);
  };

  input.addEventListener('change', () => {
    if (input.files) addAll(input.files);
    input.value = ''; // the script sends them; the form must not post them again
  });

  // Drag and drop anywhere on the conversation.
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
  dropZone.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dropZone.classList.add('dropping');
  });
  dropZone.addEventListener('dragleave', (e) => {
    if (e.target === dropZone) dropZone.classList.remove('dropping');
  });
  dropZone.addEventListener('drop', (e) => {
    dropZone.classList.remove('dropping');
    if (!hasFiles(e)) return;
    e.preventDefault();
    addAll(e.dataTransfer!.files);
  });

  // A pasted picture (a screenshot) is attached; pasted text stays text.
  box.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (!files.length) return;
    e.preventDefault();
    addAll(files);
  });

  return {
    count: () => uploads.length,
    async settle() {
      await Promise.all(uploads.map((u) => u.done));
      const failed = uploads.find((u) => u.error);
      if (failed)
        return { stored: [], problem: `“${failed.file.name}”: ${failed.error} Remove it to send.` };
      return { stored: uploads.map((u) => u.stored!).filter(Boolean) };
    },
    clear() {
      uploads.splice(0).forEach((u) => u.li.remove());
      refresh();
    },
  };
}
