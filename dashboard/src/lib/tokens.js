// A user's tokens, read from the audit log (token.create and token.revoke of objects token/N):
// the API lists no tokens, but every token was created and revoked through an audited call.

/**
 * @typedef {{id: number, user_id: number, label: string, created_at: string, created_by: string,
 *            revoked_at: string | null}} TokenRow
 */

/**
 * @param {{action: string, object: string, at: string, actor?: string, diff: unknown}[]} entries
 *   audit entries in the order they were written
 * @returns {TokenRow[]} newest first
 */
export function tokensFromAudit(entries) {
  /** @type {Map<number, TokenRow>} */
  const tokens = new Map();
  for (const e of entries) {
    const m = /^token\/(\d+)$/.exec(e.object ?? '');
    if (!m) continue;
    const id = Number(m[1]);
    /** @type {any} */
    let diff = e.diff;
    if (typeof diff === 'string') {
      try {
        diff = JSON.parse(diff);
      } catch {
        diff = {};
      }
    }
    if (e.action === 'token.create') {
      tokens.set(id, {
        id,
        user_id: Number(diff?.user_id),
        label: String(diff?.label ?? ''),
        created_at: e.at,
        created_by: e.actor ?? '',
        revoked_at: null,
      });
    } else if (e.action === 'token.revoke') {
      const t = tokens.get(id);
      if (t) t.revoked_at = e.at;
      else tokens.set(id, { id, user_id: Number(diff?.user_id), label: '', created_at: '', created_by: '', revoked_at: e.at });
    }
  }
  return [...tokens.values()].sort((a, b) => b.id - a.id);
}
