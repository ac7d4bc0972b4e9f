// Live count and sample of a segment's matching contacts while its rules are edited.
// Posts the whole edit form to the preview endpoint (which validates it exactly as a
// save would) a moment after the last change, and shows the count, a sample or errors.
(function () {
  "use strict";

  function text(node, value) {
    node.textContent = value;
  }

  function fill(list, items) {
    list.replaceChildren();
    items.forEach(function (item) {
      const li = document.createElement("li");
      li.textContent = item;
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }

  function attach(panel) {
    const form = panel.closest("form");
    if (!form || panel.dataset.bound) return;
    panel.dataset.bound = "1";
    const count = panel.querySelector("[data-journeys-segment-count]");
    const sample = panel.querySelector("[data-journeys-segment-sample]");
    const errors = panel.querySelector("[data-journeys-segment-errors]");
    const note = panel.querySelector("[data-journeys-segment-note]");
    let timer = null;
    let sequence = 0;

    function refresh() {
      const mine = ++sequence;
      fetch(panel.dataset.url, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (data) {
          if (mine !== sequence) return;
          fill(errors, data.errors || []);
          if ((data.errors || []).length) {
            text(count, "");
            fill(sample, []);
            text(note, "");
            note.hidden = true;
            return;
          }
          // Contacts' addresses and names come only to users who may see contacts.
          text(note, data.note || "");
          note.hidden = !data.note;
          const label = data.count + (data.count === 1 ? " contact matches" : " contacts match");
          if (data.contacts_url) {
            // The rules are the saved ones: the count opens the contacts listing filtered
            // by the segment.
            const link = document.createElement("a");
            link.href = data.contacts_url;
            link.textContent = label;
            count.replaceChildren(link);
          } else {
            text(count, label);
          }
          fill(
            sample,
            data.sample.map(function (c) {
              return c.name ? c.name + " <" + c.email + ">" : c.email;
            })
          );
        })
        .catch(function () {
          if (mine === sequence) fill(errors, ["The preview is unavailable."]);
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // Blocks added or removed in the stream editor change the form without an input event.
    new MutationObserver(schedule).observe(form, { childList: true, subtree: true });
    schedule(); // after the stream editor has drawn its fields
  }

  function init() {
    document.querySelectorAll("[data-journeys-segment-preview]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
