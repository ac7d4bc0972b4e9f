/* Wagtail's autosave and the editor's own buttons, one at a time.

   A new page's first autosave creates it (the form then moves to the page's edit URL). A
   click on Publish or Save draft while that autosave is on its way posted the form to the
   create URL again: a second page (or "slug already in use"), and an autosave that started
   after the click saved a draft over what was just published. So: once a button submits
   the form, autosave stops; if an autosave is under way, the submission waits for it to
   finish and then goes to the URL it left the form on, with the button that was clicked. */
(() => {
  if (window.journeysAutosaveGuard) return;
  window.journeysAutosaveGuard = true;

  const pending = new WeakMap(); // form -> Promise resolved when its autosave finishes
  const held = new WeakSet(); // forms whose submission waits for their autosave
  const finishers = new WeakMap();

  document.addEventListener('w-autosave:save', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || pending.has(form)) return;
    pending.set(
      form,
      new Promise((resolve) => {
        finishers.set(form, resolve);
      }),
    );
  });

  const finish = (event) => {
    const form = event.target;
    const resolve = finishers.get(form);
    pending.delete(form);
    finishers.delete(form);
    if (resolve) resolve();
  };
  document.addEventListener('w-autosave:success', finish);
  document.addEventListener('w-autosave:error', finish);
  // A cancelled autosave ends without success or error: nothing to wait for.
  document.addEventListener('w-autosave:save', (event) => {
    if (event.defaultPrevented) finish(event);
  });

  document.addEventListener(
    'submit',
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      if (!(form.dataset.controller || '').split(/\s+/).includes('w-autosave')) return;
      form.setAttribute('data-w-autosave-active-value', 'false');
      const waiting = pending.get(form);
      if (!waiting) return;
      event.preventDefault();
      held.add(form);
      const { submitter } = event;
      const name = submitter && submitter.name;
      const value = submitter && submitter.value;
      const timeout = new Promise((resolve) => {
        setTimeout(resolve, 15000);
      });
      Promise.race([waiting, timeout]).then(() => {
        if (name) {
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = name;
          input.value = value;
          form.append(input);
        }
        // The autosave left the form on the page's edit URL: submit there, as clicked.
        HTMLFormElement.prototype.submit.call(form);
      });
    },
    true,
  );

  // A submission something else stopped (a confirmation dialog…) did not leave the page:
  // autosave goes on.
  window.addEventListener('submit', (event) => {
    const form = event.target;
    if (event.defaultPrevented && form instanceof HTMLFormElement && !held.has(form)) {
      if (form.hasAttribute('data-w-autosave-active-value')) {
        form.setAttribute('data-w-autosave-active-value', 'true');
      }
    }
  });
})();
