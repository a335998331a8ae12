/* plugwire console: small progressive enhancements in plain JavaScript (no libraries,
   nothing fetched from the internet). Every page also works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  /* ---- a JSON checker that says where it broke (line and column) -------------------- */
  function checkJSON(text) {
    let i = 0;
    const n = text.length;
    const what = (c) => (c === undefined ? "the end of the text" : c === "\n" ? "a line break" : "'" + c + "'");
    const fail = (msg) => { throw { pos: i, msg: msg }; };
    const ws = () => { while (i < n && " \t\n\r".indexOf(text[i]) >= 0) i++; };
    function str() {
      i++;
      while (i < n) {
        const c = text[i];
        if (c === '"') { i++; return; }
        if (c === "\\") {
          i++;
          if (text[i] === "u") {
            if (!/^[0-9a-fA-F]{4}$/.test(text.substr(i + 1, 4))) fail("\\u must be followed by four hex digits");
            i += 5;
          } else if ('"\\/bfnrt'.indexOf(text[i]) >= 0 && i < n) { i++; } else { fail("unknown escape \\" + (text[i] || "")); }
          continue;
        }
        if (c < " ") fail("a line break or control character inside a string (write \\n)");
        i++;
      }
      fail("a string is not closed (missing \")");
    }
    function num() {
      const re = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
      re.lastIndex = i;
      const m = re.exec(text);
      if (!m || !m[0] || m[0] === "-") fail("a number is malformed");
      i += m[0].length;
    }
    function value() {
      ws();
      if (i >= n) fail("a value was expected, found the end of the text");
      const c = text[i];
      if (c === "{") return obj();
      if (c === "[") return arr();
      if (c === '"') return str();
      if (c === "-" || (c >= "0" && c <= "9")) return num();
      for (const w of ["true", "false", "null"]) if (text.startsWith(w, i)) { i += w.length; return; }
      fail("unexpected " + what(c) + ": a value (\"text\", number, {object}, [array], true, false or null) was expected");
    }
    function obj() {
      i++; ws();
      if (text[i] === "}") { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a \"quoted\" key, found " + what(text[i]));
        str(); ws();
        if (text[i] !== ":") fail("expected ':' after the key, found " + what(text[i]));
        i++; value(); ws();
        if (text[i] === ",") { i++; ws(); if (text[i] === "}") fail("a comma before '}' (trailing comma)"); continue; }
        if (text[i] === "}") { i++; return; }
        fail("expected ',' or '}' after a value, found " + what(text[i]));
      }
    }
    function arr() {
      i++; ws();
      if (text[i] === "]") { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ",") { i++; ws(); if (text[i] === "]") fail("a comma before ']' (trailing comma)"); continue; }
        if (text[i] === "]") { i++; return; }
        fail("expected ',' or ']' after a value, found " + what(text[i]));
      }
    }
    try {
      value(); ws();
      if (i < n) fail("unexpected " + what(text[i]) + " after the end of the JSON value");
      return { ok: true };
    } catch (e) {
      if (!e || e.pos === undefined) throw e;
      const before = text.slice(0, e.pos).split("\n");
      return { ok: false, line: before.length, col: before[before.length - 1].length + 1, message: e.msg };
    }
  }
  window.plugwireCheckJSON = checkJSON;

  /* ---- the JSON editor: line numbers, parse errors, highlighted fields ------------------ */
  function setupEditor(box) {
    const area = $("textarea", box);
    if (!area) return;
    const gutter = document.createElement("pre");
    gutter.className = "gutter";
    gutter.setAttribute("aria-hidden", "true");
    const wrap = document.createElement("div");
    wrap.className = "area";
    const bars = document.createElement("div");
    bars.className = "bars";
    box.insertBefore(gutter, area);
    box.insertBefore(wrap, area);
    wrap.appendChild(bars);
    wrap.appendChild(area);
    let status = box.nextElementSibling;
    if (!status || !status.classList.contains("json-status")) status = null;
    let marked = (box.dataset.highlight || "").split(",").filter(Boolean).map(Number);
    const lineHeight = () => parseFloat(getComputedStyle(area).lineHeight) || 20;
    const padTop = () => parseFloat(getComputedStyle(area).paddingTop) || 8;
    const isJSON = () => box.dataset.jsonEditor === "on";

    function draw(errorLine) {
      const count = area.value.split("\n").length;
      const hot = new Set(marked);
      if (errorLine) hot.add(errorLine);
      gutter.innerHTML = "";
      for (let k = 1; k <= count; k++) {
        const span = document.createElement("span");
        span.textContent = k + "\n";
        if (hot.has(k)) span.className = "hl";
        gutter.appendChild(span);
      }
      bars.innerHTML = "";
      hot.forEach((line) => {
        const bar = document.createElement("div");
        bar.className = "bar" + (line === errorLine ? " syntax" : "");
        bar.dataset.line = String(line);
        bar.style.top = padTop() + (line - 1) * lineHeight() - area.scrollTop + "px";
        bars.appendChild(bar);
      });
      box.classList.toggle("has-highlight", marked.length > 0);
    }
    function validate() {
      let errorLine = null;
      box.classList.remove("invalid");
      if (status) { status.textContent = ""; status.className = "json-status"; }
      if (isJSON() && area.value.trim()) {
        const r = checkJSON(area.value);
        if (!r.ok) {
          errorLine = r.line;
          box.classList.add("invalid");
          if (status) { status.textContent = "JSON error at line " + r.line + ", column " + r.col + ": " + r.message + "."; status.className = "json-status bad"; }
        } else if (status) { status.textContent = "Valid JSON."; status.className = "json-status ok"; }
      }
      draw(errorLine);
    }
    area.addEventListener("input", () => { marked = []; validate(); });
    area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; validate(); });
    box.plugwireValidate = validate;
    validate();
  }
  $$(".editor[data-json-editor]").forEach(setupEditor);
  const fmt = $("#body_format");
  if (fmt) fmt.addEventListener("change", () => {
    const box = $(".editor[data-json-editor]");
    if (box) { box.dataset.jsonEditor = (fmt.value === "json" || fmt.value === "none") ? "on" : "off"; box.plugwireValidate(); }
  });

  /* ---- forms -------------------------------------------------------------------------- */
  $$("select[data-autosubmit]").forEach((sel) => sel.addEventListener("change", () => {
    $$("[data-carry]", sel.form).forEach((hidden) => {
      const source = $("[data-carry-source='" + hidden.dataset.carry + "']");
      if (source) hidden.value = source.value;
    });
    sel.form.submit();
  }));
  document.addEventListener("click", (e) => {
    const add = e.target.closest("[data-add-row]");
    if (add) {
      const body = $("table[data-kv='" + add.dataset.addRow + "'] tbody");
      const last = body.lastElementChild;
      const row = last.cloneNode(true);
      $$("input", row).forEach((inp) => { inp.value = ""; });
      row.classList.remove("bad");
      body.appendChild(row);
      $("input", row).focus();
      return;
    }
    const remove = e.target.closest("[data-remove-row]");
    if (remove) {
      const row = remove.closest("tr");
      if (row.parentElement.children.length > 1) row.remove();
      else $$("input", row).forEach((inp) => { inp.value = ""; });
      return;
    }
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const field = $(copy.dataset.copy);
      const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, () => { field.select(); document.execCommand("copy"); done(); });
      } else { field.select(); document.execCommand("copy"); done(); }
    }
  });
  $$("form[data-confirm]").forEach((f) => f.addEventListener("submit", (e) => {
    if (!window.confirm(f.dataset.confirm)) e.preventDefault();
  }));
  $$("input[data-toggle]").forEach((box) => {
    const targets = $$("[data-shown-by='" + box.dataset.toggle + "']");
    const sync = () => targets.forEach((t) => { const inp = $("input", t); t.hidden = !box.checked && !(inp && inp.value); });
    box.addEventListener("change", sync);
    sync();
  });
  /* A select that shows the fields meant for its value (data-sig-for lists the values),
     and disables the others, so that nothing hidden is sent. */
  $$("select[data-toggle-select]").forEach((sel) => {
    const targets = $$("[data-sig-for]", sel.form);
    const sync = () => targets.forEach((t) => {
      const on = t.dataset.sigFor.split(" ").includes(sel.value);
      t.hidden = !on;
      $$("input, select, textarea", t).forEach((inp) => { inp.disabled = !on; });
    });
    sel.addEventListener("change", sync);
    sync();
  });

  /* ---- OAuth2 Connect: the provider's page in a window of its own, then back here ------- */
  $$("form[data-oauth]").forEach((form) => form.addEventListener("submit", () => {
    const popup = window.open("", "plugwire-oauth", "width=640,height=760");
    if (popup) form.target = "plugwire-oauth";
    const waiting = $("[data-oauth-waiting]", form);
    if (waiting) waiting.hidden = false;
    let before = null;
    const started = Date.now();
    const poll = () => {
      fetch(form.dataset.status, { credentials: "same-origin", cache: "no-store" })
        .then((r) => r.json())
        .then((s) => {
          const now = JSON.stringify(s);
          if (before === null) before = now;
          if (s.connected && (now !== before || !JSON.parse(before).connected)) {
            if (popup && !popup.closed) popup.close();
            window.location.reload();
            return;
          }
          if (Date.now() - started < 10 * 60 * 1000) setTimeout(poll, 700);
        })
        .catch(() => setTimeout(poll, 1500));
    };
    poll();
  }));

  /* ---- tabs (job input / output) ------------------------------------------------------ */
  $$("[data-tabs]").forEach((tabs) => {
    const buttons = $$("[data-tab]", tabs);
    const show = (name) => {
      buttons.forEach((b) => { const on = b.dataset.tab === name; b.classList.toggle("here", on); b.setAttribute("aria-selected", on); });
      $$("[data-panel]", tabs).forEach((p) => { p.hidden = p.dataset.panel !== name; });
    };
    buttons.forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
    if (buttons.length) show(buttons[0].dataset.tab);
  });

  /* ---- datapills: click a field, then a pill -------------------------------------------- */
  const pillLabel = $("#pill-target-label");
  let active = null;
  const targetSel = "[data-pill-target], #step-form input[name$='.value']";
  document.addEventListener("focusin", (e) => {
    if (!e.target.matches || !e.target.matches(targetSel)) return;
    if (active) active.classList.remove("pill-active");
    active = e.target;
    active.classList.add("pill-active");
    if (pillLabel) pillLabel.textContent = "A pill goes into: " + (active.dataset.path ? "body " + active.dataset.path : active.name);
  });
  $$("button.pill").forEach((btn) => btn.addEventListener("click", () => {
    if (!active) { if (pillLabel) pillLabel.textContent = "Click a field on the left first, then a pill."; return; }
    const pill = btn.dataset.pill;
    const s = active.selectionStart, e = active.selectionEnd;
    if (typeof s === "number" && s !== e) active.setRangeText(pill, s, e, "end");
    else active.value = pill;
    active.dispatchEvent(new Event("input", { bubbles: true }));
  }));

  /* ---- the wizard's pagination form shows the options of the chosen style ------------- */
  const pagingStyle = $("#pagination-style");
  if (pagingStyle) {
    const showOptions = () => $$(".pagination-options > label[data-styles]").forEach((label) => {
      label.hidden = !label.dataset.styles.split(" ").includes(pagingStyle.value);
    });
    pagingStyle.addEventListener("change", showOptions);
    showOptions();
  }

  /* ---- pages that show work in progress refresh themselves ----------------------------- */
  const refresh = $("[data-refresh]");
  if (refresh) setTimeout(() => window.location.reload(), 1000 * Number(refresh.dataset.refresh || 2));
})();
