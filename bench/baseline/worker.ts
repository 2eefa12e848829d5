/**
 * The yardstick for the end-to-end runs: a minimal Worker with no framework,
 * no auth and no crypto, on the same local D1 as the app. Never deployed.
 *
 * GET  /read?id=SID         one D1 read (a session row by primary key)
 * POST /read-update?id=SID  the same read, then one D1 update of that row
 */
interface BaselineEnv {
  DB: D1Database;
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    const url = new URL(request.url);
    const id = url.searchParams.get('id') ?? '';
    if (url.pathname === '/read') {
      const row = await env.DB.prepare('SELECT * FROM sessions WHERE id = ?1').bind(id).first();
      return row ? Response.json(row) : Response.json({ error: 'not_found' }, { status: 404 });
    }
    if (url.pathname === '/read-update' && request.method === 'POST') {
      const row = await env.DB.prepare('SELECT * FROM sessions WHERE id = ?1').bind(id).first<{ expires_at: number }>();
      if (!row) return Response.json({ error: 'not_found' }, { status: 404 });
      await env.DB.prepare('UPDATE sessions SET expires_at = ?2 WHERE id = ?1').bind(id, row.expires_at + 1).run();
      return Response.json({ ok: true });
    }
    return Response.json({ error: 'not_found' }, { status: 404 });
  },
};
