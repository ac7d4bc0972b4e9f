// The merge-tag picker of the email editor. The subject's widget carries the list
// (data-journeys-merge-tags); a small button follows whichever text field of the email
// has focus (inputs, text areas, rich text) and inserts {{ name|default("…") }} at the
// cursor. Plain inputs get the text through setRangeText (and an "input" event, so
// Wagtail sees the change); rich text (Draftail) through the browser's insertText,
// which Draftail handles as typing.
(() => {
  "use strict";
  const FIELDS = 'input[type="text"], textarea, [contenteditable="true"]';
  let config = null;
  let picker = null;
  let target = null; // { el, start, end } for inputs, { el, range } for rich text

  function eligible(el) {
    if (!el || !el.matches || !el.matches(FIELDS)) return false;
    if (el.closest(".jy-mt-picker")) return false;
    const form = el.closest("form");
    return !!(form && form.querySelector("[data-journeys-merge-tags]"));
  }

  function tagFor(name, fallback) {
    const clean = fallback.replace(/["\\{}%]/g, "").trim();
    return clean ? `{{ ${name}|default("${clean}") }}` : `{{ ${name} }}`;
  }

  function insert(text) {
    if (!target) return;
    const el = target.el;
    if (el.isContentEditable) {
      // Draftail re-renders its text as it is typed: the cursor is kept as a number of
      // characters from the start, put back after focus, and the text inserted once
      // Draftail has seen that selection.
      const offset = target.offset;
      el.focus();
      window.setTimeout(() => {
        if (offset !== null) caretAt(el, offset);
        window.setTimeout(() => document.execCommand("insertText", false, text), 30);
      }, 30);
    } else {
      el.focus();
      el.setRangeText(text, target.start, target.end, "end");
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function build() {
    const root = document.createElement("div");
    root.className = "jy-mt-picker";
    root.dataset.testid = "merge-tag-picker";
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.textContent = `{ } ${config.button}`;
    toggle.setAttribute("aria-expanded", "false");
    const menu = document.createElement("div");
    menu.className = "jy-mt-menu";
    menu.hidden = true;
    const label = document.createElement("label");
    label.textContent = config.fallback;
    const fallback = document.createElement("input");
    fallback.type = "text";
    fallback.value = config.fallbackDefault;
    fallback.className = "jy-mt-fallback";
    label.appendChild(fallback);
    menu.appendChild(label);
    for (const group of config.groups) {
      const heading = document.createElement("h3");
      heading.textContent = group.label;
      const list = document.createElement("ul");
      for (const name of group.names) {
        const item = document.createElement("li");
        const choose = document.createElement("button");
        choose.type = "button";
        choose.dataset.mergeTag = name;
        choose.textContent = name;
        choose.addEventListener("mousedown", (event) => event.preventDefault());
        choose.addEventListener("click", () => {
          close();
          insert(tagFor(name, fallback.value));
        });
        item.appendChild(choose);
        list.appendChild(item);
      }
      menu.append(heading, list);
    }
    // Keep the field's focus and cursor when the button is pressed.
    toggle.addEventListener("mousedown", (event) => event.preventDefault());
    toggle.addEventListener("click", () => (menu.hidden ? open() : close()));
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    function open() {
      menu.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
    }
    function close() {
      menu.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    }
    root.append(toggle, menu);
    root.close = close;
    return root;
  }

  function caretAt(el, offset) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let left = offset;
    let node = walker.nextNode();
    let last = null;
    while (node) {
      if (node.textContent.length >= left) break;
      left -= node.textContent.length;
      last = node;
      node = walker.nextNode();
    }
    const range = document.createRange();
    if (node) range.setStart(node, left);
    else if (last) range.setStart(last, last.textContent.length);
    else range.setStart(el, 0);
    range.collapse(true);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function remember(el) {
    if (el.isContentEditable) {
      const selection = window.getSelection();
      let offset = null;
      if (selection.rangeCount && el.contains(selection.getRangeAt(0).startContainer)) {
        const range = selection.getRangeAt(0);
        const before = document.createRange();
        before.selectNodeContents(el);
        before.setEnd(range.startContainer, range.startOffset);
        offset = before.toString().length;
      }
      target = { el, offset };
    } else {
      target = { el, start: el.selectionStart, end: el.selectionEnd };
    }
  }

  function place(el) {
    const anchor = el.isContentEditable ? el.closest(".Draftail-Editor") || el : el;
    if (picker.previousElementSibling !== anchor) {
      picker.close();
      anchor.insertAdjacentElement("afterend", picker);
    }
  }

  document.addEventListener("focusin", (event) => {
    const el = event.target;
    if (!eligible(el)) return;
    if (!config) {
      config = JSON.parse(document.querySelector("[data-journeys-merge-tags]").dataset.journeysMergeTags);
      picker = build();
    }
    remember(el);
    place(el);
  });
  for (const type of ["keyup", "mouseup", "select"]) {
    document.addEventListener(type, (event) => {
      if (target && event.target === target.el) remember(target.el);
    });
  }
  document.addEventListener("selectionchange", () => {
    if (target && target.el.isContentEditable && target.el.contains(document.activeElement)) {
      remember(target.el);
    }
  });
})();
