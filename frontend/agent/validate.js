// The field rules of the contract, checked as the agent types so a mistake shows at once;
// the server checks the same rules again and stays the judge.

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const PHONE_CHARS = /^\+?[0-9 ()-]+$/; // as the server: digits, spaces, dashes, brackets

/** Today as YYYY-MM-DD in the browser's local time. */
export function isoToday(now = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function isEmpty(value) {
  return value === null || value === undefined || String(value).trim() === "";
}

function validDate(text) {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function limitDate(limit, today) {
  return limit === "today" ? today : limit;
}

/** {key, params} for i18n, or null when the value is acceptable. */
export function fieldProblem(field, value, today = isoToday()) {
  if (isEmpty(value)) return field.required ? { key: "field.required" } : null;
  const text = String(value).trim(); // the server stores values trimmed
  switch (field.type) {
    case "text":
      return textProblem(field, text);
    case "phone":
      return phoneProblem(text);
    case "choice": {
      const ids = (field.options || []).map((o) => o.id);
      return ids.includes(text) ? null : { key: "field.choose" };
    }
    case "yes_no":
      return text === "yes" || text === "no" ? null : { key: "field.yes_no" };
    case "date":
      return dateProblem(field, text, today);
    default:
      return null;
  }
}

function textProblem(field, text) {
  const length = [...text].length; // characters, as the server counts them
  if (field.min_length && length < field.min_length) {
    return { key: "field.too_short", params: { min: field.min_length, length } };
  }
  if (field.max_length && length > field.max_length) {
    return { key: "field.too_long", params: { max: field.max_length, length } };
  }
  if (field.pattern) {
    let rule;
    try {
      rule = new RegExp(`^(?:${field.pattern})$`, "u"); // the server matches the whole value
    } catch {
      return null; // a pattern JavaScript cannot read: the server still checks it
    }
    if (!rule.test(text)) {
      return field.pattern_hint
        ? { key: "field.pattern_hint", params: { hint: field.pattern_hint } }
        : { key: "field.pattern" };
    }
  }
  return null;
}

function phoneProblem(text) {
  const digits = (text.match(/[0-9]/g) || []).length;
  if (!PHONE_CHARS.test(text) || digits < 3 || digits > 20) return { key: "field.phone" };
  return null;
}

function dateProblem(field, text, today) {
  if (!validDate(text)) return { key: "field.date" };
  const notBefore = field.not_before && limitDate(field.not_before, today);
  const notAfter = field.not_after && limitDate(field.not_after, today);
  if (notBefore && text < notBefore) {
    return field.not_before === "today" ? { key: "field.not_past" } : { key: "field.not_before", params: { date: notBefore } };
  }
  if (notAfter && text > notAfter) {
    return field.not_after === "today" ? { key: "field.not_future" } : { key: "field.not_after", params: { date: notAfter } };
  }
  return null;
}
