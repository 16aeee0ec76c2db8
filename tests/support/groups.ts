// Groups made as a person makes one: "New group" on the page (POST /groups), by emails.
import { post, type Agent } from './app.js';

/** Makes a group owned by `owner` with these people; returns its conversation id. */
export async function createGroup(
  owner: { agent: Agent },
  title: string,
  members: Array<{ email: string }>,
): Promise<number> {
  const res = await post(
    owner.agent,
    '/groups',
    { title, members: members.map((m) => m.email).join('\n') },
    '/groups/new',
  );
  if (res.status !== 303) throw new Error(`creating a group failed: ${res.status} ${res.text}`);
  return Number(/\/conversations\/(\d+)/.exec(String(res.headers.location))![1]);
}
