// UI strings in English and Simplified Chinese. The call scripts' prompts come from the
// server in the call script's own language; everything around them is here. The choice is
// remembered in localStorage and set on <html lang> (fonts and screen readers follow it).

const LANGUAGE_KEY = "callassist.language";

export const LANGUAGES = [
  { id: "en", label: "English" },
  { id: "zh-CN", label: "中文（简体）" },
];

const en = {
  "agent.page": "Agent console",
  "agent.not_agent": "You are logged in as {role}: this console is for agents with a phone.",
  "common.close": "Close",
  "common.language": "Language",
  "common.loading": "Loading…",
  "common.logout": "Log out",

  "login.title_agent": "Agent console — log in to take calls",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Log in",
  "login.wrong": "Wrong username or password.",
  "login.expired": "Your login has expired. Please log in again; nothing you typed is lost.",

  "state.loading": "Starting",
  "state.login": "Logged out",
  "state.idle": "Ready",
  "state.ringing": "Ringing",
  "state.on_call": "On call",
  "state.wrap_up": "Wrap-up",

  "link.live": "Live",
  "link.reconnecting": "Reconnecting…",
  "link.pbx_down": "PBX link down",

  "banner.offline": "Offline — reconnecting…",
  "banner.offline_pending": "Offline — {n} change(s) will be sent when the link returns",
  "banner.sending": "Sending {n} change(s)…",

  "error.network": "The server cannot be reached (network down?).",
  "error.unauthorized": "Your login has expired; please log in again.",
  "error.forbidden": "Not allowed: {detail}",
  "error.not_found": "Not found: {detail}",
  "error.server": "The server had a problem (HTTP {status}); try again in a moment.",
  "error.http": "The request failed (HTTP {status}).",
  "error.refresh": "Could not load your calls",
  "error.load_call": "Could not load the call",
  "error.start": "Could not start the console",

  "idle.ready": "Ready for calls",
  "idle.waiting": "Waiting for the next call on {endpoint}. The call script opens when you answer.",
  "idle.no_phone": "no phone",
  "idle.no_phone_hint": "Your user has no phone (endpoint); ask IT to set one, or calls cannot reach this console.",

  "shift.title": "Shift-start check",
  "shift.checked_at": "checked at {time}",
  "shift.checking": "Checking…",
  "shift.again": "Check again",
  "shift.failed": "The check could not run: {detail}",
  "shift.verdict_green": "All good: phone, PBX link and network are ready.",
  "shift.verdict_amber": "Working, but look at the points below.",
  "shift.verdict_red": "Not ready: calls will fail. Tell your supervisor now.",
  "shift.verdict_pending": "Checking…",
  "shift.phone": "Phone {endpoint}",
  "shift.registered": "registered",
  "shift.not_registered": "not registered",
  "shift.unknown": "unknown",
  "shift.link": "PBX link (AMI)",
  "shift.link_up": "up",
  "shift.link_down": "down ({status})",
  "shift.rtt": "Round trip (browser ↔ server)",
  "shift.ms": "{ms} ms",
  "shift.problems": "Problems",
  "shift.no_phone": "no phone assigned",
  "problem.no_endpoint": "No phone is assigned to your login: ask a supervisor to set your endpoint.",
  "problem.not_registered": "Your phone is not registered with the PBX: check that it is plugged in and logged in.",
  "problem.unreachable": "Your phone is registered but does not answer the PBX: check its network cable or Wi-Fi, and your headset.",
  "problem.unknown": "The PBX could not tell whether your phone is reachable.",
  "problem.link_down": "callassist is not connected to the PBX: calls will not pop until it is back. Tell IT.",
  "problem.slow": "The connection to callassist is slow: screen pops may come late.",
  "idle.call_script_errors": "Some call scripts could not be loaded (tell IT): {errors}",
  "step.queued": "Offline: this will be done as soon as the link returns.",
  "step.complete": "The call script is complete. End the call on your phone when the customer is ready.",
  "phone.Reachable": "Reachable",
  "phone.Unreachable": "Unreachable",
  "phone.Unknown": "Unknown",
  "phone.Lagged": "Lagged",
  "phone.Removed": "Removed",
  "phone.Created": "Created",

  "keys.title": "Keyboard",
  "keys.next": "Next step (not in a multi-line box)",
  "keys.back": "Previous step",
  "keys.branch": "Complaint / Sensitive / Complex / Emergency / Line-fault branch",
  "keys.refer": "Refer to the department (look-up step)",
  "keys.notes": "Go to the notes box",
  "keys.disposition": "Wrap-up: choose a disposition",
  "keys.submit": "Wrap-up: submit",
  "keys.recheck": "Run the shift check again",

  "pop.incoming": "Incoming call",
  "pop.queue": "queue {queue}",
  "pop.ringing_for": "ringing {time}",
  "pop.answer_hint": "Answer on your phone — the call script opens as soon as you do.",

  "caller.title": "Caller",
  "caller.withheld": "Number withheld",
  "caller.known": "known from earlier calls",
  "caller.new": "New caller",
  "caller.none": "None",
  "caller.last_calls": "Last calls",
  "caller.open_complaints": "Open complaints",
  "caller.pending_callbacks": "Pending callbacks",

  "oncall.talking": "Talking",
  "oncall.on_hold": "On hold",
  "oncall.ended": "Call ended",
  "oncall.talk_time": "Talk",
  "oncall.handed_over_from": "Handed over from {agent}",
  "oncall.transferred": "Transferred ({kind}) at {time}",
  "oncall.transferred_to": "Transferred ({kind}) to {target} at {time}",
  "oncall.transfer_notice": "The call was transferred to {target}.",
  "oncall.opening": "Opening the call script…",
  "oncall.no_call_script": "No call script applies to this call. Take notes in your own words.",
  "transfer.blind": "blind",
  "transfer.attended": "attended",
  "others.ringing": "Another call is ringing: {number}",
  "others.on_call": "Also on a call: {number}",
  "others.wrap_up": "Wrap-up waiting: {number}",

  "step.number": "step {n}",
  "step.back": "Back",
  "step.next": "Next",
  "step.finish": "Finish ✓",
  "step.lookup": "Look-up notes",
  "step.tips": "Tips",
  "step.checklist": "Checklist",
  "step.transfer_to": "Responsible department:",
  "step.refer": "Refer to {department}",
  "step.fix_fields": "Please correct the marked fields first.",
  "branch.title": "Branches",
  "branch.unavailable": "Not available now (finish the identity check first)",

  "field.required": "Required.",
  "field.required_mark": "required",
  "field.too_short": "Too short: at least {min} characters ({length} now).",
  "field.too_long": "Too long: at most {max} characters ({length} now).",
  "field.pattern": "Not in the expected format.",
  "field.pattern_hint": "Expected: {hint}.",
  "field.phone": "A phone number: 3 to 20 digits, optionally a leading +; spaces, dashes and brackets are fine.",
  "field.phone_hint": "digits, optional leading +",
  "field.choose": "Choose one of the options.",
  "field.choose_placeholder": "— choose —",
  "field.yes_no": "Answer yes or no.",
  "field.yes": "Yes",
  "field.no": "No",
  "field.date": "A date as YYYY-MM-DD.",
  "field.not_future": "Cannot be in the future.",
  "field.not_past": "Cannot be in the past.",
  "field.not_before": "Not before {date}.",
  "field.not_after": "Not after {date}.",
  "field.not_future_hint": "today or earlier",
  "field.max_chars": "up to {max} characters",

  "notes.title": "Notes",
  "notes.saved": "saved",
  "notes.unsaved": "not sent yet…",
  "notes.queued": "queued: will be sent when online",
  "progress.title": "Call script progress",

  "wrapup.title": "Wrap-up",
  "wrapup.talked": "talked {time}",
  "wrapup.transferred": "transferred to {target}",
  "wrapup.disposition": "How did the call end for the customer?",
  "wrapup.choose_disposition": "Choose a disposition first.",
  "wrapup.notes": "Notes",
  "wrapup.submit": "Submit wrap-up",
  "wrapup.saved": "Wrap-up saved. Ready for the next call.",
  "wrapup.summary": "Collected on this call",
  "wrapup.no_fields": "No fields were collected.",
  "wrapup.complaints": "Complaints filed: {n}",

  "effect.complaint": "Complaint recorded {id}",
  "effect.transfer": "Transfer to {department} ({target}) requested.",
  "effect.emergency": "Emergency plan started: follow the checklist, and your supervisor has been told.",
  "effect.callback": "A callback to {number} will be scheduled.",
  "queue.rejected": "A change made while offline was refused ({action}): {detail}",
  "action.set": "field",
  "action.note": "notes",
  "action.next": "next step",
  "action.back": "previous step",
  "action.branch": "branch",
  "action.refer": "refer",
  "action.wrap_up": "wrap-up",
  "fault.line": "Line fault: {fault} at {location} {detail}. Tell your supervisor; offer the customer another channel.",

  "kind.greet": "Greeting",
  "kind.collect": "Collect",
  "kind.answer": "Answer",
  "kind.confirm": "Confirm",
  "kind.close": "Close",
  "kind.complaint": "Complaint",
  "kind.identity_check": "Identity check",
  "kind.lookup": "Look-up",
  "kind.emergency": "Emergency",
  "kind.line_fault": "Line fault",
  "outcome.completed": "completed",
  "outcome.abandoned": "abandoned",
  "outcome.missed": "missed",
  "outcome.dropped": "dropped",
  "outcome.failed": "failed",
  "outcome.unknown": "in progress",
  "severity.low": "low",
  "severity.medium": "medium",
  "severity.high": "high",
  "severity.critical": "critical",
  "status.open": "open",
  "status.pending": "pending",
  "status.in_progress": "in progress",
  "status.resolved": "resolved",
  "status.closed": "closed",
  "status.scheduled": "scheduled",
  "status.dialing": "dialling",
  "status.received": "received",
  "status.queued": "in the callback queue",
  "status.dialling": "dialling",
  "status.reached": "reached",
  "status.not_reached": "not reached",
  "result.reached": "reached",
  "result.busy": "busy",
  "result.no_answer": "no answer",
  "result.rejected": "rejected by the customer",
  "result.failed": "line failed",
  "result.agent_no_answer": "agent did not answer",
  "result.not_sent": "not sent (link down)",
  "result.unknown": "lost in a link cut",
  "category.service": "Quality of service",
  "category.billing": "Billing and charges",
  "category.network": "Network and coverage",
  "category.staff": "Staff conduct",
  "category.other": "Other",
  "disposition.resolved": "resolved",
  "disposition.callback": "callback",
  "disposition.escalated": "escalated",
  "disposition.complaint_filed": "complaint filed",
  "disposition.no_action": "no action needed",
  "reason.requested": "requested by the customer",
  "reason.dropped": "call dropped",
  "reason.abandoned": "hung up in the queue",
  "reason.missed": "missed call",
};

const zh = {
  "agent.page": "坐席控制台",
  "agent.not_agent": "您当前以 {role} 身份登录：此控制台供配有电话的坐席使用。",
  "common.close": "关闭",
  "common.language": "语言",
  "common.loading": "正在加载…",
  "common.logout": "退出登录",

  "login.title_agent": "坐席控制台 — 登录后接听来电",
  "login.username": "用户名",
  "login.password": "密码",
  "login.submit": "登录",
  "login.wrong": "用户名或密码错误。",
  "login.expired": "登录已过期，请重新登录；已输入的内容不会丢失。",

  "state.loading": "启动中",
  "state.login": "未登录",
  "state.idle": "就绪",
  "state.ringing": "来电振铃",
  "state.on_call": "通话中",
  "state.wrap_up": "话后整理",

  "link.live": "已连接",
  "link.reconnecting": "正在重新连接…",
  "link.pbx_down": "交换机连接中断",

  "banner.offline": "离线 — 正在重新连接…",
  "banner.offline_pending": "离线 — 连接恢复后将发送 {n} 项更改",
  "banner.sending": "正在发送 {n} 项更改…",

  "error.network": "无法连接服务器（网络中断？）。",
  "error.unauthorized": "登录已过期，请重新登录。",
  "error.forbidden": "无权操作：{detail}",
  "error.not_found": "未找到：{detail}",
  "error.server": "服务器出错（HTTP {status}），请稍后重试。",
  "error.http": "请求失败（HTTP {status}）。",
  "error.refresh": "无法加载您的通话",
  "error.load_call": "无法加载该通话",
  "error.start": "无法启动控制台",

  "idle.ready": "就绪，等待来电",
  "idle.waiting": "正在 {endpoint} 上等待下一通来电。接听后将自动打开通话脚本。",
  "idle.no_phone": "无电话",
  "idle.no_phone_hint": "您的账号未绑定电话（分机），请联系 IT 设置，否则来电无法到达此控制台。",

  "shift.title": "班前检查",
  "shift.checked_at": "检查时间 {time}",
  "shift.checking": "正在检查…",
  "shift.again": "重新检查",
  "shift.failed": "检查无法进行：{detail}",
  "shift.verdict_green": "一切正常：电话、交换机连接和网络均已就绪。",
  "shift.verdict_amber": "可以工作，但请注意以下几点。",
  "shift.verdict_red": "未就绪：通话将会失败。请立即报告主管。",
  "shift.verdict_pending": "正在检查…",
  "shift.phone": "电话 {endpoint}",
  "shift.registered": "已注册",
  "shift.not_registered": "未注册",
  "shift.unknown": "未知",
  "shift.link": "交换机连接（AMI）",
  "shift.link_up": "正常",
  "shift.link_down": "中断（{status}）",
  "shift.rtt": "往返时延（浏览器 ↔ 服务器）",
  "shift.ms": "{ms} 毫秒",
  "shift.problems": "问题",
  "shift.no_phone": "未分配电话",
  "problem.no_endpoint": "您的账号未分配电话：请联系主管设置分机。",
  "problem.not_registered": "您的电话未在交换机注册：请检查电话是否接通电源并已登录。",
  "problem.unreachable": "您的电话已注册但交换机无法联系到它：请检查网线或 Wi-Fi 以及耳麦。",
  "problem.unknown": "交换机无法确认您的电话是否可达。",
  "problem.link_down": "callassist 未连接到交换机：恢复之前来电不会弹屏。请通知 IT。",
  "problem.slow": "与 callassist 的连接较慢：来电弹屏可能延迟。",
  "idle.call_script_errors": "部分通话脚本无法加载（请通知 IT）：{errors}",
  "step.queued": "离线：连接恢复后将立即执行。",
  "step.complete": "通话脚本已完成。客户准备好后，请在电话上结束通话。",
  "phone.Reachable": "可达",
  "phone.Unreachable": "不可达",
  "phone.Unknown": "未知",
  "phone.Lagged": "延迟过高",
  "phone.Removed": "已移除",
  "phone.Created": "已创建",

  "keys.title": "快捷键",
  "keys.next": "下一步（多行输入框内除外）",
  "keys.back": "上一步",
  "keys.branch": "投诉 / 敏感信息 / 复杂问题 / 紧急情况 / 线路故障 分支",
  "keys.refer": "转交责任部门（查询步骤）",
  "keys.notes": "跳到备注框",
  "keys.disposition": "话后整理：选择处理结果",
  "keys.submit": "话后整理：提交",
  "keys.recheck": "重新进行班前检查",

  "pop.incoming": "来电",
  "pop.queue": "队列 {queue}",
  "pop.ringing_for": "已振铃 {time}",
  "pop.answer_hint": "请在电话上接听 — 接听后立即打开通话脚本。",

  "caller.title": "来电者",
  "caller.withheld": "号码未显示",
  "caller.known": "来自以往通话记录",
  "caller.new": "新来电者",
  "caller.none": "无",
  "caller.last_calls": "最近通话",
  "caller.open_complaints": "未结投诉",
  "caller.pending_callbacks": "待回拨",

  "oncall.talking": "通话中",
  "oncall.on_hold": "保持中",
  "oncall.ended": "通话已结束",
  "oncall.talk_time": "通话",
  "oncall.handed_over_from": "由 {agent} 转交",
  "oncall.transferred": "已转接（{kind}）于 {time}",
  "oncall.transferred_to": "已转接（{kind}）至 {target}，{time}",
  "oncall.transfer_notice": "通话已转接至 {target}。",
  "oncall.opening": "正在打开通话脚本…",
  "oncall.no_call_script": "此通话没有适用的通话脚本，请用自己的话记录备注。",
  "transfer.blind": "直接转接",
  "transfer.attended": "咨询转接",
  "others.ringing": "另一通来电正在振铃：{number}",
  "others.on_call": "另一通通话进行中：{number}",
  "others.wrap_up": "待话后整理：{number}",

  "step.number": "第 {n} 步",
  "step.back": "上一步",
  "step.next": "下一步",
  "step.finish": "完成 ✓",
  "step.lookup": "查询说明",
  "step.tips": "提示",
  "step.checklist": "检查清单",
  "step.transfer_to": "责任部门：",
  "step.refer": "转交{department}",
  "step.fix_fields": "请先更正标出的字段。",
  "branch.title": "分支",
  "branch.unavailable": "暂不可用（请先完成身份核验）",

  "field.required": "必填。",
  "field.required_mark": "必填",
  "field.too_short": "太短：至少 {min} 个字符（当前 {length} 个）。",
  "field.too_long": "太长：最多 {max} 个字符（当前 {length} 个）。",
  "field.pattern": "格式不正确。",
  "field.pattern_hint": "应为：{hint}。",
  "field.phone": "电话号码：3 到 20 位数字，可以 + 开头；可含空格、连字符和括号。",
  "field.phone_hint": "数字，可以 + 开头",
  "field.choose": "请选择一个选项。",
  "field.choose_placeholder": "— 请选择 —",
  "field.yes_no": "请回答是或否。",
  "field.yes": "是",
  "field.no": "否",
  "field.date": "日期格式为 YYYY-MM-DD。",
  "field.not_future": "不能晚于今天。",
  "field.not_past": "不能早于今天。",
  "field.not_before": "不能早于 {date}。",
  "field.not_after": "不能晚于 {date}。",
  "field.not_future_hint": "今天或更早",
  "field.max_chars": "最多 {max} 个字符",

  "notes.title": "备注",
  "notes.saved": "已保存",
  "notes.unsaved": "尚未发送…",
  "notes.queued": "已排队：联网后发送",
  "progress.title": "通话脚本进度",

  "wrapup.title": "话后整理",
  "wrapup.talked": "通话 {time}",
  "wrapup.transferred": "已转接至 {target}",
  "wrapup.disposition": "本次通话对客户的处理结果？",
  "wrapup.choose_disposition": "请先选择处理结果。",
  "wrapup.notes": "备注",
  "wrapup.submit": "提交话后整理",
  "wrapup.saved": "话后整理已保存，可以接听下一通来电。",
  "wrapup.summary": "本次通话收集的信息",
  "wrapup.no_fields": "未收集任何字段。",
  "wrapup.complaints": "已登记投诉：{n}",

  "effect.complaint": "投诉已登记 {id}",
  "effect.transfer": "已请求转接至{department}（{target}）。",
  "effect.emergency": "已启动应急预案：请按清单操作，主管已收到通知。",
  "effect.callback": "将安排回拨 {number}。",
  "queue.rejected": "离线期间的更改被拒绝（{action}）：{detail}",
  "action.set": "字段",
  "action.note": "备注",
  "action.next": "下一步",
  "action.back": "上一步",
  "action.branch": "分支",
  "action.refer": "转交",
  "action.wrap_up": "话后整理",
  "fault.line": "线路故障：{location} 出现 {fault} {detail}。请报告主管，并引导客户使用其他渠道。",

  "kind.greet": "问候",
  "kind.collect": "信息收集",
  "kind.answer": "解答",
  "kind.confirm": "确认",
  "kind.close": "结束语",
  "kind.complaint": "投诉",
  "kind.identity_check": "身份核验",
  "kind.lookup": "查询",
  "kind.emergency": "紧急情况",
  "kind.line_fault": "线路故障",
  "outcome.completed": "已完成",
  "outcome.abandoned": "客户放弃",
  "outcome.missed": "未接",
  "outcome.dropped": "掉线",
  "outcome.failed": "失败",
  "outcome.unknown": "进行中",
  "severity.low": "低",
  "severity.medium": "中",
  "severity.high": "高",
  "severity.critical": "紧急",
  "status.open": "未结",
  "status.pending": "待处理",
  "status.in_progress": "处理中",
  "status.resolved": "已解决",
  "status.closed": "已关闭",
  "status.scheduled": "已安排",
  "status.dialing": "拨号中",
  "status.received": "已受理",
  "status.queued": "在回拨队列中",
  "status.dialling": "拨号中",
  "status.reached": "已联系上",
  "status.not_reached": "未联系上",
  "result.reached": "已联系上",
  "result.busy": "忙线",
  "result.no_answer": "无人接听",
  "result.rejected": "客户拒接",
  "result.failed": "线路故障",
  "result.agent_no_answer": "坐席未接",
  "result.not_sent": "未发出（链路中断）",
  "result.unknown": "链路中断时丢失",
  "category.service": "服务质量",
  "category.billing": "账单与费用",
  "category.network": "网络与覆盖",
  "category.staff": "员工态度",
  "category.other": "其他",
  "disposition.resolved": "当场解决",
  "disposition.callback": "待回拨",
  "disposition.escalated": "已升级/转接",
  "disposition.complaint_filed": "已登记投诉",
  "disposition.no_action": "无需处理",
  "reason.requested": "客户要求",
  "reason.dropped": "通话掉线",
  "reason.abandoned": "排队中挂断",
  "reason.missed": "未接来电",
};

const STRINGS = { en, "zh-CN": zh };
const listeners = new Set();
let current = "en";

function preferred() {
  const stored = localStorage.getItem(LANGUAGE_KEY);
  if (stored && STRINGS[stored]) return stored;
  const browser = (navigator.languages || [navigator.language || "en"]).find(Boolean) || "en";
  return browser.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function initLanguage() {
  current = preferred();
  document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!STRINGS[lang] || lang === current) return;
  current = lang;
  localStorage.setItem(LANGUAGE_KEY, lang);
  document.documentElement.lang = lang;
  for (const fn of listeners) fn(lang);
}

export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * More strings for one page (the QA page keeps its own in /qa/strings.js): added to the
 * language's table; a key that exists already keeps its text, so a page cannot change
 * what another page says.
 */
export function addStrings(lang, strings) {
  const table = STRINGS[lang];
  if (!table) return;
  for (const [key, text] of Object.entries(strings)) if (!(key in table)) table[key] = text;
}

/** t("shift.ms", {ms: 12}); an unknown key gives `fallback` (or the key itself). */
export function t(key, params = {}, fallback) {
  const text = STRINGS[current][key] ?? en[key] ?? fallback ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params && params[name] !== undefined && params[name] !== null ? String(params[name]) : ""));
}

/** A word from the server (outcome, severity, status...) in the UI language when we know it. */
export function label(group, value) {
  if (value === null || value === undefined || value === "") return "—";
  return t(`${group}.${value}`, {}, String(value).replaceAll("_", " "));
}

/** Elements with data-i18n (text), data-i18n-title, data-i18n-placeholder. */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

/** 0:42, 12:05, 1:02:03 */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatClock(epochSeconds) {
  if (!epochSeconds) return "";
  return new Intl.DateTimeFormat(current, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(epochSeconds * 1000));
}

/** Today: the time; earlier: the date and time. */
export function formatWhen(epochSeconds) {
  if (!epochSeconds) return "";
  const date = new Date(epochSeconds * 1000);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(current, options).format(date);
}
