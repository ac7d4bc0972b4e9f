/* The flow canvas's Stimulus controller (registered on Wagtail's own Stimulus app; no build
   step). The layout comes from the server; this pans and zooms the stage with a CSS
   transform, moves focus between nodes with the arrow keys, opens Wagtail's editor of a
   node in a side panel (and refreshes the canvas after a save), and fills the shared
   insert / move / delete forms. */
(() => {
  const { Controller } = window.StimulusModule;
  const MIN = 0.2;
  const MAX = 2;
  const STEP = 1.2;
  const READABLE = 0.55;

  class CanvasController extends Controller {
    static targets = [
      'viewport', 'stage', 'node', 'zoom', 'insertDialog', 'insertForm', 'insertWhere',
      'insertParent', 'insertAfter', 'branchType', 'moveDialog', 'moveForm', 'movePage',
      'moveDirection', 'moveParent', 'moveAfter', 'movePlace', 'deleteDialog', 'deleteWhat',
      'deletePage', 'editor', 'editorLink', 'frame',
    ];

    static values = { edit: String, choose: Boolean };

    connect() {
      this.scale = 1;
      this.x = 0;
      this.y = 0;
      this.fitIfNeeded();
      const hash = window.location.hash.match(/^#node-(\d+)$/);
      const focus = hash && this.linkOf(hash[1]);
      if (focus) this.reveal(focus);
      if (this.editValue && this.linkOf(this.editValue)) {
        this.openEditor(this.linkOf(this.editValue));
      }
    }

    // -- pan and zoom ------------------------------------------------------------------

    apply() {
      this.stageTarget.style.transform =
        `translate(${this.x}px, ${this.y}px) scale(${this.scale})`;
      this.zoomTarget.textContent = `${Math.round(this.scale * 100)}%`;
    }

    size() {
      return [Number(this.stageTarget.dataset.width), Number(this.stageTarget.dataset.height)];
    }

    /** The whole tree if it can be read that small, else its full width from the top. */
    fitIfNeeded() {
      const [w, h] = this.size();
      const box = this.viewportTarget.getBoundingClientRect();
      const whole = Math.min(1, box.width / w, box.height / h);
      this.scale = whole >= READABLE ? whole : Math.max(MIN, Math.min(1, box.width / w));
      this.x = Math.max(0, (box.width - w * this.scale) / 2);
      this.y = 0;
      this.apply();
    }

    fit() {
      const [w, h] = this.size();
      const box = this.viewportTarget.getBoundingClientRect();
      this.scale = Math.max(MIN, Math.min(1, box.width / w, box.height / h));
      this.x = (box.width - w * this.scale) / 2;
      this.y = Math.max(0, (box.height - h * this.scale) / 2);
      this.apply();
    }

    actualSize() {
      this.zoomAt(1);
    }

    zoomIn() {
      this.zoomAt(this.scale * STEP);
    }

    zoomOut() {
      this.zoomAt(this.scale / STEP);
    }

    zoomAt(scale, cx, cy) {
      const box = this.viewportTarget.getBoundingClientRect();
      const px = cx ?? box.width / 2;
      const py = cy ?? box.height / 2;
      const next = Math.max(MIN, Math.min(MAX, scale));
      this.x = px - ((px - this.x) * next) / this.scale;
      this.y = py - ((py - this.y) * next) / this.scale;
      this.scale = next;
      this.apply();
    }

    wheel(event) {
      event.preventDefault();
      if (event.ctrlKey || event.metaKey) {
        const box = this.viewportTarget.getBoundingClientRect();
        const factor = event.deltaY < 0 ? STEP : 1 / STEP;
        this.zoomAt(this.scale * factor, event.clientX - box.left, event.clientY - box.top);
      } else {
        this.x -= event.deltaX;
        this.y -= event.deltaY;
        this.apply();
      }
    }

    grab(event) {
      if (event.button !== 0 || event.target.closest('a, button, summary, details, .jc-node')) {
        return;
      }
      const start = { x: event.clientX - this.x, y: event.clientY - this.y };
      const viewport = this.viewportTarget;
      viewport.classList.add('is-grabbing');
      viewport.setPointerCapture(event.pointerId);
      const move = (e) => {
        this.x = e.clientX - start.x;
        this.y = e.clientY - start.y;
        this.apply();
      };
      const up = () => {
        viewport.classList.remove('is-grabbing');
        viewport.removeEventListener('pointermove', move);
        viewport.removeEventListener('pointerup', up);
      };
      viewport.addEventListener('pointermove', move);
      viewport.addEventListener('pointerup', up);
    }

    keys(event) {
      if (event.target.closest('input, select, textarea')) return;
      if (event.key === '+' || event.key === '=') this.zoomIn();
      else if (event.key === '-') this.zoomOut();
      else if (event.key === '0') this.fit();
      else return;
      event.preventDefault();
    }

    /** Pan so that ``element`` (a node's link) is in view, and focus it. */
    reveal(element) {
      const node = element.closest('.jc-node');
      const box = this.viewportTarget.getBoundingClientRect();
      const left = node.offsetLeft * this.scale + this.x;
      const top = node.offsetTop * this.scale + this.y;
      const w = node.offsetWidth * this.scale;
      const h = node.offsetHeight * this.scale;
      if (left < 0 || left + w > box.width) this.x -= left - (box.width - w) / 2;
      if (top < 0 || top + h > box.height) this.y -= top - (box.height - h) / 2;
      this.apply();
      element.focus({ preventScroll: true });
    }

    // -- keyboard: arrows move between nodes by where they are drawn -------------------

    navigate(event) {
      const directions = {
        ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0],
      };
      const [dx, dy] = directions[event.key] || [];
      if (dx === undefined) return;
      event.preventDefault();
      const centre = (link) => {
        const node = link.closest('.jc-node');
        return [node.offsetLeft + node.offsetWidth / 2, node.offsetTop + node.offsetHeight / 2];
      };
      const [x0, y0] = centre(event.currentTarget);
      let best = null;
      let bestScore = Infinity;
      this.nodeTargets.forEach((link) => {
        if (link === event.currentTarget) return;
        const [x, y] = centre(link);
        const along = (x - x0) * dx + (y - y0) * dy;
        if (along <= 1) return;
        const across = Math.abs((x - x0) * dy) + Math.abs((y - y0) * dx);
        const score = along + across * 3;
        if (score < bestScore) {
          bestScore = score;
          best = link;
        }
      });
      if (best) this.reveal(best);
    }

    // -- the editor: Wagtail's own edit view in a side panel ---------------------------

    linkOf(id) {
      return this.nodeTargets.find((link) => link.closest('.jc-node').dataset.node === String(id));
    }

    open(event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab, as asked
      event.preventDefault();
      this.openEditor(event.currentTarget);
    }

    openEditor(link) {
      this.returnTo = link.closest('.jc-node').dataset.node;
      this.editorLinkTarget.href = link.href;
      this.frameTarget.src = link.dataset.panel;
      this.editorTarget.showModal();
    }

    frameLoaded() {
      const frame = this.frameTarget;
      let doc;
      try {
        doc = frame.contentDocument;
      } catch (e) {
        return;
      }
      if (!doc || !doc.body || doc.location.href === 'about:blank') return;
      if (new URL(doc.location.href).searchParams.get('saved')) {
        this.editorTarget.close(); // saved: the canvas redraws
        return;
      }
      // Trim the admin around the form: the canvas is the page's context here.
      const style = doc.createElement('style');
      style.textContent =
        '.sidebar, [data-side-panel-toggle="preview"], .w-breadcrumbs { display: none !important; }' +
        ' .wrapper { padding-inline-start: 0 !important; } body { --w-sidebar-width: 0px; }';
      doc.head.appendChild(style);
      if (this.chooseValue) {
        // A new send step: its email is all it needs, so its chooser opens at once.
        this.chooseValue = false;
        const choose = doc.querySelector('.chooser.blank .unchosen [data-chooser-action-choose]');
        if (choose) window.setTimeout(() => choose.click(), 0);
      }
    }

    editorClosed() {
      this.frameTarget.src = 'about:blank';
      this.refresh();
    }

    /** Reload the stage from the server, keeping the view and focus. */
    async refresh() {
      const url = new URL(window.location.href);
      url.searchParams.delete('edit');
      url.searchParams.delete('choose');
      url.hash = '';
      window.history.replaceState(null, '', url);
      const response = await fetch(url, { headers: { 'X-Requested-With': 'fetch' } });
      if (!response.ok) return;
      const html = new DOMParser().parseFromString(await response.text(), 'text/html');
      const stage = html.querySelector('.jc-stage');
      if (stage) {
        this.stageTarget.replaceWith(stage);
        this.apply();
      }
      const summary = html.querySelector('.jc-summary');
      const old = this.element.querySelector('.jc-summary');
      if (old) old.remove();
      if (summary) this.viewportTarget.before(summary);
      const back = this.returnTo && this.linkOf(this.returnTo);
      if (back) back.focus({ preventScroll: true });
      this.element.dataset.refreshed = Number(this.element.dataset.refreshed || 0) + 1;
      this.element.dispatchEvent(new CustomEvent('journeys-canvas:refreshed', { bubbles: true }));
    }

    // -- insert, move, delete ----------------------------------------------------------

    close(event) {
      event.target.closest('dialog').close();
    }

    insert(event) {
      const slot = event.currentTarget;
      this.insertParentTarget.value = slot.dataset.parent;
      this.insertAfterTarget.value = slot.dataset.after;
      this.insertWhereTarget.textContent = slot.getAttribute('aria-label');
      this.insertDialogTarget.showModal();
      this.insertDialogTarget.querySelector('.jc-type').focus();
    }

    nodeOf(event) {
      const node = event.currentTarget.closest('.jc-node');
      const menu = node.querySelector('details');
      if (menu) menu.open = false;
      return node;
    }

    addBranch(event) {
      const node = this.nodeOf(event);
      this.insertParentTarget.value = node.dataset.node;
      this.insertAfterTarget.value = event.currentTarget.dataset.after;
      this.insertFormTarget.requestSubmit(this.branchTypeTarget);
    }

    move(event) {
      const node = this.nodeOf(event);
      this.movePageTarget.value = node.dataset.node;
      this.moveDirectionTarget.value = event.currentTarget.dataset.direction;
      this.moveParentTarget.value = '';
      this.moveAfterTarget.value = '';
      this.moveFormTarget.requestSubmit();
    }

    chooseMove(event) {
      const node = this.nodeOf(event);
      const path = node.dataset.path;
      const select = this.movePlaceTarget;
      select.replaceChildren();
      this.element.querySelectorAll('.jc-slot').forEach((slot) => {
        const inside = slot.dataset.parentPath.startsWith(path);
        const here = slot.dataset.after === node.dataset.node;
        if (inside || here) return;
        const option = document.createElement('option');
        option.value = `${slot.dataset.parent}:${slot.dataset.after}`;
        option.textContent = slot.dataset.label;
        select.append(option);
      });
      this.movePageTarget.value = node.dataset.node;
      this.moveDirectionTarget.value = '';
      this.moveDialogTarget.showModal();
      select.focus();
    }

    moveTo() {
      const [parent, after] = this.movePlaceTarget.value.split(':');
      this.moveParentTarget.value = parent;
      this.moveAfterTarget.value = after || '';
    }

    confirmDelete(event) {
      const node = this.nodeOf(event);
      const under = Number(node.dataset.under);
      this.deletePageTarget.value = node.dataset.node;
      this.deleteWhatTarget.textContent = under
        ? `“${node.dataset.summary}” ${this.deleteWhatTarget.dataset.andUnder || ''}`.replace('%(n)s', under)
        : `“${node.dataset.summary}”`;
      this.deleteDialogTarget.showModal();
      this.deleteDialogTarget.querySelector('.button.button-secondary').focus();
    }
  }

  window.wagtail.app.register('journeys-canvas', CanvasController);
})();
