// Tags in the inbox, without a browser: a tag's rules (1–64 bytes of UTF-8, no control characters),
// the body of POST /api/v1/submissions/tags (1–500 ids, a tag to add or to remove), its answer in
// words, and the selection of rows.

export const MAX_TAG = 64;
export const MAX_IDS = 500;

/**
 * What is wrong with a tag as typed (trimmed first), or null.
 * @param {string} text
 */
export function tagProblem(text) {
  const t = String(text ?? '').trim();
  if (t.length === 0) return 'Type a tag first (e.g. sensitive).';
  if (new TextEncoder().encode(t).length > MAX_TAG) {
    return `A tag has at most ${MAX_TAG} bytes (${MAX_TAG} Latin letters, ${MAX_TAG / 2} Cyrillic ones); shorten it.`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(t)) return 'A tag cannot contain control characters (tabs, line breaks); remove them.';
  return null;
}

/**
 * The request of a bulk tag change, or {problem, field} when it cannot be sent: `field` is the
 * input it is about (`tag` or `ids`).
 * @param {number[]} ids @param {string} tag @param {'add' | 'remove'} op
 * @returns {{body: {ids: number[], add?: string[], remove?: string[]}} | {problem: string, field: string}}
 */
export function tagsRequest(ids, tag, op) {
  const unique = [...new Set(ids)].filter((i) => Number.isInteger(i) && i > 0).sort((a, b) => a - b);
  if (unique.length === 0) return { problem: 'Select at least one submission (the boxes at the start of the rows).', field: 'ids' };
  if (unique.length > MAX_IDS) return { problem: `At most ${MAX_IDS} submissions at once; select fewer.`, field: 'ids' };
  const problem = tagProblem(tag);
  if (problem) return { problem, field: 'tag' };
  return { body: { ids: unique, [op]: [String(tag).trim()] } };
}

/**
 * Whether a problem+json `field` of the tags endpoint is about the tag typed (add[0], remove[0],
 * add, remove) rather than the selection.
 * @param {string | undefined} field
 */
export function isTagField(field) {
  return typeof field === 'string' && /^(add|remove)(\[\d+\])?$/.test(field);
}

/**
 * The answer in words.
 * @param {'add' | 'remove'} op @param {string} tag @param {{submissions?: {id: number}[]}} answer
 */
export function tagsDoneText(op, tag, answer) {
  const ids = (answer?.submissions ?? []).map((s) => s.id);
  const n = ids.length;
  const which = n === 0 ? 'no submissions' : `${n} submission${n === 1 ? '' : 's'} (${ids.map((i) => `#${i}`).join(', ')})`;
  return op === 'add' ? `Tag “${String(tag).trim()}” added to ${which}.` : `Tag “${String(tag).trim()}” removed from ${which}.`;
}

/** @param {number} n */
export function selectedText(n) {
  return n === 0 ? 'No submissions selected' : `${n} selected`;
}

/**
 * The selection after "Select all on this page" is ticked or unticked.
 * @param {Set<number>} selected @param {number[]} onPage @param {boolean} on
 */
export function selectPage(selected, onPage, on) {
  const out = new Set(selected);
  for (const id of onPage) {
    if (on) out.add(id);
    else out.delete(id);
  }
  return out;
}

/**
 * The state of "Select all on this page": all, some (indeterminate) or none.
 * @param {Set<number>} selected @param {number[]} onPage
 */
export function pageSelection(selected, onPage) {
  const n = onPage.filter((id) => selected.has(id)).length;
  return n === 0 ? 'none' : n === onPage.length ? 'all' : 'some';
}
