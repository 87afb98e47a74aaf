// Building DOM without innerHTML: every text from the API goes through
// textContent, so nothing the server (or a backup description) says can
// become markup.

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/**
 * h('button', { class: 'btn', onclick: f, dataset: { id } }, 'text', child…)
 * Props: class, dataset, on<event>, or any attribute (true = present,
 * null/undefined/false = absent). Children: nodes or text.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Shows or hides an element (the hidden attribute). */
export function show(el, visible = true) {
  el.hidden = !visible;
}
