// The demo page: renders the workspace snapshot from /api/state (polled every second) the way Slack
// shows it, and sends what the person does to the demo, which passes it to the bot as Slack would.
"use strict";

const EMOJI = {
  white_check_mark: "✅", hourglass_flowing_sand: "⏳", rocket: "🚀", no_entry: "⛔", fast_forward: "⏩",
  rotating_light: "🚨", warning: "⚠️", snowflake: "❄️", lock: "🔒", unlock: "🔓", x: "❌", tada: "🎉",
  triangular_flag_on_post: "🚩", calendar: "📅", wave: "👋", bust_in_silhouette: "👤", information_source: "ℹ️",
};
const view = { me: localStorage.getItem("releasebot-demo-person"), channel: null, thread: null, last: "", state: null, modal: "" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// ------------------------------------------------------------------ mrkdwn, as text nodes only

function decode(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emoji(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}

function inline(text) {
  const parts = [];
  const pattern = /(`[^`]+`|\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~)/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > at) parts.push(...lines(decode(text.slice(at, match.index))));
    const token = match[0], inner = decode(token.slice(1, -1));
    const tag = { "`": "code", "*": "b", "_": "i", "~": "s" }[token[0]];
    parts.push(el(tag, {}, inner));
    at = match.index + token.length;
  }
  if (at < text.length) parts.push(...lines(decode(text.slice(at))));
  return parts;
}

function lines(text) {
  return text.split("\n").flatMap((line, i) => (i ? [el("br"), line] : [line]));
}

function mrkdwn(text) {
  const out = [];
  for (const piece of String(text || "").split(/(<[^<>\n]+>)/)) {
    const special = piece.match(/^<(.+)>$/);
    if (!special) { out.push(...inline(emoji(piece))); continue; }
    const [target, label] = special[1].split("|");
    if (target.startsWith("@")) out.push(el("span", { class: "mention" }, "@" + (label || view.state.names[target.slice(1)] || target.slice(1))));
    else if (target.startsWith("#")) out.push(el("span", { class: "mention" }, "#" + (label || view.state.channel_names[target.slice(1)] || target.slice(1))));
    else if (target.startsWith("!")) out.push(el("span", { class: "mention" }, "@" + (label || target.slice(1))));
    else if (/\/archives\/[A-Z0-9]+\/p\d+/.test(target)) out.push(permalink(target, label));
    else if (/^https?:\/\//.test(target)) out.push(el("a", { href: target, target: "_blank", rel: "noopener" }, decode(label || target)));
    else out.push(decode(piece));
  }
  return out;
}

// A permalink into this workspace opens the conversation here instead of slack.com.
function permalink(target, label) {
  const [, channel, digits] = target.match(/\/archives\/([A-Z0-9]+)\/p(\d+)/);
  const thread = target.match(/thread_ts=([\d.]+)/);
  const ts = digits.slice(0, -6) + "." + digits.slice(-6);
  return el("a", { href: "#", onclick: (e) => {
    e.preventDefault(); view.channel = channel; view.thread = thread ? thread[1] : (conversationNamed(channel)?.messages.find((m) => m.ts === ts)?.replies.length ? ts : null); render();
  } }, decode(label || target));
}

function textObject(text) {
  if (!text) return [];
  return text.type === "mrkdwn" ? mrkdwn(text.text) : [emoji(text.text)];
}

// ------------------------------------------------------------------ Block Kit

function element(item, context) {
  if (item.type === "button") {
    return el("button", {
      type: "button", class: "bk-button " + (item.style || ""), "data-action-id": item.action_id,
      onclick: () => act(context, { action_id: item.action_id, block_id: context.block_id, value: item.value }),
    }, textObject(item.text));
  }
  if (item.type === "users_select" || item.type === "static_select") {
    const options = item.type === "users_select"
      ? view.state.people.map((p) => ({ value: p.id, label: p.real_name }))
      : (item.options || []).map((o) => ({ value: o.value, label: o.text.text }));
    const select = el("select", { class: "bk-select", "data-action-id": item.action_id },
      el("option", { value: "" }, item.placeholder ? item.placeholder.text : "Choose…"),
      options.map((o) => el("option", { value: o.value }, o.label)));
    select.addEventListener("change", () => {
      if (!select.value) return;
      const chosen = item.type === "users_select" ? { selected_user: select.value } : { value: select.value };
      act(context, { action_id: item.action_id, block_id: context.block_id, ...chosen });
    });
    return select;
  }
  if (item.type === "image") return el("img", { src: item.image_url, alt: item.alt_text || "", class: "bk-image" });
  if (item.type === "mrkdwn" || item.type === "plain_text") return el("span", {}, textObject(item));
  return el("span", { class: "unsupported" }, `[${item.type}]`);
}

function blocks(list, context) {
  return (list || []).map((block) => {
    const here = { ...context, block_id: block.block_id };
    switch (block.type) {
      case "header": return el("div", { class: "bk-header" }, textObject(block.text));
      case "divider": return el("hr", { class: "bk-divider" });
      case "section":
        return el("div", { class: "bk-section" },
          el("div", { class: "bk-text" }, textObject(block.text),
            block.fields ? el("div", { class: "bk-fields" }, block.fields.map((f) => el("div", {}, textObject(f)))) : null),
          block.accessory ? el("div", { class: "bk-accessory" }, element(block.accessory, here)) : null);
      case "context": return el("div", { class: "bk-context" }, (block.elements || []).map((e) => element(e, here)));
      case "actions": return el("div", { class: "bk-actions" }, (block.elements || []).map((e) => element(e, here)));
      case "input": return inputBlock(block);
      default: return el("div", { class: "unsupported" }, `[${block.type} block]`);
    }
  });
}

function messageNode(message, channel, inThread) {
  const name = view.state.names[message.user] || message.user;
  const context = { channel, message_ts: message.ephemeral ? null : message.ts };
  const body = message.blocks && message.blocks.length ? blocks(message.blocks, context) : [el("div", { class: "bk-text" }, mrkdwn(message.text))];
  const replies = message.replies || [];
  return el("div", { class: "message" + (message.ephemeral ? " ephemeral" : ""), "data-ts": message.ts },
    el("div", { class: "avatar" }, name.slice(0, 1).toUpperCase()),
    el("div", { class: "content" },
      el("div", { class: "meta" }, el("b", {}, name),
        message.user === view.state.bot ? el("span", { class: "app" }, "APP") : null,
        el("span", { class: "time" }, message.time), message.edited ? el("span", { class: "edited" }, "(edited)") : null),
      message.ephemeral ? el("div", { class: "only-you" }, "👁 Only visible to you") : null,
      body,
      !inThread && replies.length
        ? el("a", { href: "#", class: "replies", onclick: (e) => { e.preventDefault(); view.thread = message.ts; render(); } },
          `${replies.length} repl${replies.length === 1 ? "y" : "ies"}`)
        : null));
}

// ------------------------------------------------------------------ modals

function inputBlock(block) {
  const item = block.element || {};
  let control;
  if (item.type === "plain_text_input") {
    control = item.multiline ? el("textarea", { rows: 3 }) : el("input", { type: "text" });
  } else if (item.type === "radio_buttons") {
    control = el("div", { class: "radios" }, (item.options || []).map((o, i) =>
      el("label", {}, el("input", { type: "radio", name: block.block_id, value: o.value, "data-index": i }), " ", o.text.text)));
  } else if (item.type === "static_select") {
    control = el("select", {}, el("option", { value: "" }, "Choose…"), (item.options || []).map((o) => el("option", { value: o.value }, o.text.text)));
  } else {
    control = el("span", { class: "unsupported" }, `[${item.type}]`);
  }
  control.classList.add("bk-input");
  control.dataset.blockId = block.block_id;
  control.dataset.actionId = item.action_id;
  control.dataset.kind = item.type;
  return el("div", { class: "bk-input-block" }, el("label", { class: "bk-label" }, block.label ? block.label.text : ""),
    control, el("div", { class: "bk-error", "data-error-for": block.block_id }));
}

function modalValues(modal) {
  const values = {};
  for (const control of $("modal-blocks").querySelectorAll(".bk-input")) {
    const block = modal.blocks.find((b) => b.block_id === control.dataset.blockId);
    let entry = null;
    if (control.dataset.kind === "plain_text_input") entry = { type: "plain_text_input", value: control.value };
    else if (control.dataset.kind === "radio_buttons") {
      const picked = control.querySelector("input:checked");
      entry = { type: "radio_buttons", selected_option: picked ? block.element.options[Number(picked.dataset.index)] : null };
    } else if (control.dataset.kind === "static_select") {
      const option = block.element.options.find((o) => o.value === control.value);
      entry = { type: "static_select", selected_option: option || null };
    }
    if (entry) values[control.dataset.blockId] = { [control.dataset.actionId]: entry };
  }
  return values;
}

function renderModal(modal) {
  const key = modal ? modal.view_id + modal.hash : "";
  if (key === view.modal) return;
  view.modal = key;
  $("modal-backdrop").hidden = !modal;
  if (!modal) return;
  $("modal-title").textContent = modal.title ? modal.title.text : "";
  $("modal-submit").textContent = modal.submit ? modal.submit.text : "Submit";
  $("modal-submit").hidden = !modal.submit;
  $("modal-close").textContent = modal.close ? modal.close.text : "Close";
  $("modal-blocks").replaceChildren(...blocks(modal.blocks, { channel: null, message_ts: null }));
}

// ------------------------------------------------------------------ the page

function conversationNamed(id) {
  return view.state.channels.find((c) => c.id === id);
}

function render() {
  const state = view.state;
  $("clock").textContent = `${state.clock.yours} (release hours: ${state.clock.release})`;
  const link = (c) => el("li", {}, el("a", {
    href: "#", "data-channel": c.id, class: c.id === view.channel ? "active" : "",
    onclick: (e) => { e.preventDefault(); view.channel = c.id; view.thread = null; render(); },
  }, c.kind === "dm" ? "🤖 " + c.name : "# " + c.name));
  $("channels").replaceChildren(...state.channels.filter((c) => c.kind === "channel").map(link));
  $("dms").replaceChildren(...state.channels.filter((c) => c.kind === "dm").map(link));
  $("open-home").className = view.channel === "home" ? "active" : "";
  $("notes").replaceChildren(...state.notes.slice().reverse().map((n) => el("li", {}, n)));
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (view.channel === "home") {
    $("title").textContent = "releasebot · Home";
    $("composer").hidden = true;
    list.replaceChildren(state.home ? el("div", { class: "home" }, blocks(state.home.blocks, { channel: null })) : el("p", { class: "empty" }, "Opening the Home tab…"));
  } else {
    const conversation = conversationNamed(view.channel) || state.channels[0];
    view.channel = conversation.id;
    $("title").textContent = (conversation.kind === "dm" ? "🤖 " : "# ") + conversation.name;
    $("composer").hidden = false;
    list.replaceChildren(...(conversation.messages.length
      ? conversation.messages.map((m) => messageNode(m, conversation.id, false))
      : [el("p", { class: "empty" }, "No messages yet.")]));
    const parent = view.thread && conversation.messages.find((m) => m.ts === view.thread);
    $("thread").hidden = !parent;
    if (parent) $("thread-messages").replaceChildren(messageNode(parent, conversation.id, true), ...parent.replies.map((r) => messageNode(r, conversation.id, true)));
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
  renderModal(state.modal);
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  const answer = response.ok ? await response.json() : { ok: false, error: await response.text() };
  await poll();
  return answer;
}

function act(context, action) {
  return post("/api/action", { user: view.me, channel: context.channel, action: { ...action, message_ts: context.message_ts } });
}

async function poll() {
  const response = await fetch("/api/state?user=" + encodeURIComponent(view.me));
  if (!response.ok) return;
  const text = await response.text();
  if (text === view.last) return;
  view.last = text;
  view.state = JSON.parse(text);
  if (!$("person").options.length) {
    $("person").replaceChildren(...view.state.people.map((p) => el("option", { value: p.id }, `${p.real_name} (${p.tz})`)));
    $("person").value = view.me;
  }
  render();
  document.body.dataset.ready = "true";
}

async function start() {
  const people = await (await fetch("/api/state?user=U01ANA")).json();
  if (!people.people.some((p) => p.id === view.me)) view.me = people.people[0].id;
  $("person").addEventListener("change", () => {
    view.me = $("person").value;
    localStorage.setItem("releasebot-demo-person", view.me);
    view.last = ""; view.modal = "";
    if (view.channel === "home") post("/api/home", { user: view.me }); else poll();
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("command").value.trim();
    if (!text) return;
    $("command").value = "";
    post("/api/command", { user: view.me, channel: view.channel, text });
  });
  $("open-home").addEventListener("click", (e) => { e.preventDefault(); view.channel = "home"; render(); post("/api/home", { user: view.me }); });
  $("close-thread").addEventListener("click", () => { view.thread = null; render(); });
  $("cut").addEventListener("click", () => post("/api/cut"));
  $("commits").addEventListener("click", () => post("/api/commits"));
  $("clock-1h").addEventListener("click", () => post("/api/clock", { step: "1h" }));
  $("clock-1d").addEventListener("click", () => post("/api/clock", { step: "1d" }));
  $("modal-close").addEventListener("click", () => { const m = view.state.modal; if (m) post("/api/close", { view_id: m.view_id }); });
  $("modal").addEventListener("submit", async (e) => {
    e.preventDefault();
    const modal = view.state.modal;
    if (!modal) return;
    const answer = await post("/api/submit", { user: view.me, view_id: modal.view_id, values: modalValues(modal) });
    for (const node of document.querySelectorAll(".bk-error")) node.textContent = (answer.errors || {})[node.dataset.errorFor] || "";
  });
  await poll();
  setInterval(poll, 1000);
}

start();
