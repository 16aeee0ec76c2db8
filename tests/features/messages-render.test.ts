// The one renderer of message text (src/features/messages/render.ts): formatting works,
// and no hostile text (tests/fixtures/hostile.ts) ever becomes markup, script, a style, an
// image or a link to anything but http, https or mailto.
import { describe, expect, it } from 'vitest';
import { renderBody, firstLineOf } from '../../src/features/messages/render.js';
import { HOSTILE_MARKDOWN, STRINGS } from '../fixtures/hostile.js';
import { LINK_REL, problemsIn } from '../support/html.js';

describe('formatting messages', () => {
  it('formats bold, italic, code, fenced code, lists and bare links, and keeps new lines', () => {
    expect(renderBody('**bold** and _italic_ and `code`')).toBe(
      '<p><strong>bold</strong> and <em>italic</em> and <code>code</code></p>',
    );
    expect(renderBody('```\nlet x = 1;\n```')).toBe('<pre><code>let x = 1;\n</code></pre>');
    expect(renderBody('- one\n- two')).toBe('<ul>\n<li>one</li>\n<li>two</li>\n</ul>');
    expect(renderBody('line one\nline two')).toBe('<p>line one<br>\nline two</p>');
    expect(renderBody('see https://example.com/a?b=1')).toBe(
      `<p>see <a href="https://example.com/a?b=1" target="_blank" rel="${LINK_REL}">https://example.com/a?b=1</a></p>`,
    );
    expect(renderBody('[docs](https://example.com)')).toContain(
      `<a href="https://example.com" target="_blank" rel="${LINK_REL}">docs</a>`,
    );
    expect(renderBody('write to ann@example.com')).toContain('href="mailto:ann@example.com"');
  });

  it('shows what was typed, not markup: raw HTML, headings, rules and tables stay text', () => {
    expect(renderBody('<b>hi</b>')).toBe('<p>&lt;b&gt;hi&lt;/b&gt;</p>');
    expect(renderBody('# 1 thing')).toBe('<p># 1 thing</p>');
    expect(renderBody('![cat](https://example.com/cat.png)')).not.toContain('<img');
  });

  it(`no hostile text (${HOSTILE_MARKDOWN.length} tricks and ${STRINGS.length} odd strings) becomes a tag, attribute or link it should not, and each renders fast`, () => {
    const problems: string[] = [];
    const all = [...HOSTILE_MARKDOWN, ...STRINGS];
    for (const text of all) renderBody(`${text} `); // warm: the first calls compile
    for (const text of all) {
      // The least of three: a busy machine's preemption lengthens one run, not all three.
      let ms = Infinity;
      for (const end of ['\n', '\n\n', '\n\n\n']) {
        const t0 = performance.now();
        renderBody(`${text}${end}`); // not cached
        ms = Math.min(ms, performance.now() - t0);
      }
      // Crafted text (thousands of brackets or marks) must not cost a flood's worth of CPU.
      if (ms > 50) problems.push(`${JSON.stringify(text.slice(0, 40))}: ${ms.toFixed(0)} ms`);
      const html = renderBody(text);
      for (const p of problemsIn(html)) problems.push(`${JSON.stringify(text.slice(0, 60))}: ${p}`);
      if (/javascript:|vbscript:|data:text/i.test(html.replace(/>[^<]*</g, '><')))
        problems.push(`${JSON.stringify(text.slice(0, 60))}: a dangerous scheme in markup`);
    }
    expect(problems).toEqual([]);
  });

  it('the checker itself catches what it must (so the test above can fail)', () => {
    expect(problemsIn('<img src="x">')).not.toEqual([]);
    expect(
      problemsIn('<a href="javascript:alert(1)" target="_blank" rel="' + LINK_REL + '">x</a>'),
    ).not.toEqual([]);
    expect(problemsIn('<p onclick="x">y</p>')).not.toEqual([]);
    expect(problemsIn('<a href="https://x">x</a>')).not.toEqual([]);
  });

  it('quotes the first line of a message as it reads, without formatting marks, shortened', () => {
    expect(firstLineOf('  hello there\nsecond line')).toBe('hello there');
    expect(firstLineOf('**Plan:** bring `snacks`')).toBe('Plan: bring snacks');
    expect(firstLineOf('```\nSat 08:15  train\n```')).toBe('Sat 08:15  train');
    expect(firstLineOf('- one\n- two')).toBe('one');
    expect(firstLineOf('<b>as typed</b> &amp;')).toBe('<b>as typed</b> &amp;');
    expect(firstLineOf('x'.repeat(300))).toHaveLength(120);
  });
});
