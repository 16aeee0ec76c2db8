// What rendered message HTML may contain: the few tags and attributes the renderer makes.
const TAGS = new Set([
  'p',
  'br',
  'strong',
  'em',
  's',
  'code',
  'pre',
  'ul',
  'ol',
  'li',
  'blockquote',
  'a',
]);
export const LINK_REL = 'noopener noreferrer nofollow ugc';

/** Every problem with the HTML: a tag or attribute outside the allowed few, a bad link. */
export function problemsIn(html: string): string[] {
  const problems: string[] = [];
  for (const [tag] of html.matchAll(/<[^>]*>/g)) {
    const m = /^<\/?([a-z0-9]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*\/?>$/.exec(tag);
    if (!m) {
      problems.push(`malformed or unknown tag ${tag}`);
      continue;
    }
    const name = m[1]!;
    if (!TAGS.has(name)) problems.push(`tag <${name}>`);
    const attrs = [...m[2]!.matchAll(/([a-z-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!] as const);
    for (const [attr, value] of attrs) {
      if (name === 'a' && attr === 'href') {
        if (!/^(https?:\/\/|mailto:)/i.test(value)) problems.push(`href ${value}`);
      } else if (name === 'a' && attr === 'target') {
        if (value !== '_blank') problems.push(`target ${value}`);
      } else if (name === 'a' && attr === 'rel') {
        if (value !== LINK_REL) problems.push(`rel ${value}`);
      } else if (name === 'code' && attr === 'class') {
        if (!/^language-[^\s"<>]*$/.test(value)) problems.push(`class ${value}`);
      } else if (name === 'ol' && attr === 'start') {
        if (!/^\d+$/.test(value)) problems.push(`start ${value}`);
      } else problems.push(`attribute ${attr} on <${name}>`);
    }
    if (name === 'a' && !tag.startsWith('</')) {
      const names = attrs.map(([a]) => a).sort();
      if (names.join() !== 'href,rel,target') problems.push(`link without rel/target: ${tag}`);
    }
  }
  return problems;
}
