// A partial that a page renders many times (one message: fifty a page) is called here as its
// compiled function, with the app's helpers and its own few locals. EJS's include() would
// copy every local of the page (some sixty: the inbox, the members, the helpers) into a new
// object and ask the file system where the file is, once per message: measured, that was
// half of the conversation page's template time.
import fs from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';

export type RenderPartial = (name: string, locals: Record<string, unknown>) => string;

/**
 * Renders views/partials/<name>.ejs with `helpers` (the app's locals: formatTime and the
 * like) and `locals`. The compiled function is kept in EJS's own cache, the one include()
 * uses, so ejs.clearCache() forgets it too; `cache` false compiles it every time.
 */
export function partialRenderer(
  viewsDir: string,
  helpers: Record<string, unknown>,
  cache: () => boolean,
): RenderPartial {
  return (name, locals) => {
    const filename = path.join(viewsDir, 'partials', `${name}.ejs`);
    let render: ejs.TemplateFunction | undefined = cache() ? ejs.cache.get(filename) : undefined;
    if (!render) {
      render = ejs.compile(fs.readFileSync(filename, 'utf8'), { filename });
      if (cache()) ejs.cache.set(filename, render);
    }
    // The helpers are inherited, not copied (the template's `with` finds them there); a
    // partial inside this one goes through partial() too, since include() copies own locals only.
    return render(Object.assign(Object.create(helpers) as Record<string, unknown>, locals));
  };
}
