/* The scenario forms' Stimulus controllers, on Wagtail's own Stimulus app (no build step):
   - journeys-suggest: fills an event name input's <datalist> from the admin's JSON
     endpoint the first time the input takes focus;
   - journeys-filters: property filter rows (add, remove), and the property names of the
     chosen event offered as the key input's suggestions;
   - journeys-keys: in the segment rule editor, fills a property input's <datalist> with the
     property names of the event typed in the same rule (its nearest "…-event" field). */
(() => {
  const { Controller } = window.StimulusModule;
  const app = window.wagtail && window.wagtail.app;
  if (!app || app.router.modulesByIdentifier.has('journeys-keys')) return;

  async function fetchList(url, field) {
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' } });
      if (!response.ok) return [];
      const data = await response.json();
      return Array.isArray(data[field]) ? data[field] : [];
    } catch (error) {
      return [];
    }
  }

  function fill(datalist, values) {
    datalist.replaceChildren(
      ...values.map((value) => {
        const option = document.createElement('option');
        option.value = value;
        return option;
      }),
    );
  }

  class SuggestController extends Controller {
    static values = { url: String };

    async load() {
      if (this.loaded) return;
      this.loaded = true;
      const datalist = this.element.list;
      if (datalist) fill(datalist, await fetchList(this.urlValue, 'names'));
    }
  }

  class FiltersController extends Controller {
    static targets = ['rows', 'row', 'template', 'keys'];

    static values = { keysUrl: String, eventField: String, event: String };

    add() {
      const row = this.templateTarget.content.firstElementChild.cloneNode(true);
      this.rowsTarget.appendChild(row);
      row.querySelector('input').focus();
    }

    remove(event) {
      const row = event.target.closest('[data-journeys-filters-target="row"]');
      if (!row) return;
      if (this.rowTargets.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll('input').forEach((input) => {
          input.value = '';
        });
      }
      this.element.closest('form')?.dispatchEvent(new Event('change', { bubbles: true }));
    }

    eventName() {
      if (this.eventValue) return this.eventValue;
      const form = this.element.closest('form');
      const field = form && this.eventFieldValue && form.elements[this.eventFieldValue];
      return field ? field.value.split(',')[0].trim() : '';
    }

    async loadKeys() {
      const name = this.eventName();
      if (!name || name === this.loadedFor || !this.hasKeysTarget) return;
      this.loadedFor = name;
      const url = `${this.keysUrlValue}?event=${encodeURIComponent(name)}`;
      fill(this.keysTarget, await fetchList(url, 'keys'));
    }
  }

  class KeysController extends Controller {
    static values = { url: String };

    // Stream editor names nest: rules-0-value-filters-1-value-key is in the rule whose
    // event is rules-0-value-event; the nearest enclosing one wins.
    eventName() {
      const form = this.element.closest('form');
      const parts = (this.element.name || '').split('-value-');
      for (let i = parts.length - 1; form && i > 0; i -= 1) {
        const field = form.elements[`${parts.slice(0, i).join('-value-')}-value-event`];
        if (field && field.value) return field.value.trim();
      }
      return '';
    }

    async load() {
      const name = this.eventName();
      const datalist = this.element.list;
      if (!name || name === this.loadedFor || !datalist) return;
      this.loadedFor = name;
      fill(datalist, await fetchList(`${this.urlValue}?event=${encodeURIComponent(name)}`, 'keys'));
    }
  }

  app.register('journeys-suggest', SuggestController);
  app.register('journeys-keys', KeysController);
  app.register('journeys-filters', FiltersController);
})();
