// The lineage graph on a canvas (cytoscape): relations as boxes, pipelines as small diamonds,
// fill by last status, border by freshness, the centre outlined. dagre lays out small graphs;
// past DAGRE_MAX_NODES our own layered layout does (dagre takes seconds at 1,000+ nodes), and
// the graph is drawn for speed: pipelines folded into the edges between relations, straight
// edges without arrows (it flows left to right), labels only once zoomed in far enough to read
// them (measuring 2,000 labels costs a second).
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { layeredLayout } from './layered.js';
import { borderOf, fillOf, layoutFor, shortLabel, withoutPipelines, type LineageGraphData, type LineageNode } from './lineage-view.js';

cytoscape.use(dagre);

/** Zoom from which a big graph's labels are drawn. */
const LABEL_ZOOM = 0.55;
/** The most a small graph is zoomed to fit its box. */
const MAX_FIT_ZOOM = 1.4;

export interface DrawnGraph {
  cy: Core;
  layout: 'dagre' | 'layered';
  /** Nodes drawn (a big graph's pipelines are folded into its edges). */
  drawnNodes: number;
  destroy(): void;
}

export function drawLineage(container: HTMLElement, data: LineageGraphData, handlers: { onTap(node: LineageNode): void; onLaidOut(): void }): DrawnGraph {
  const layout = layoutFor(data.nodes.length);
  const big = layout === 'layered';
  const centreId = data.address === null ? undefined : data.nodes.find((n) => n.kind === 'address' && n.name === data.address)?.id;
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const drawn = big ? withoutPipelines(data) : data;
  const positions = big ? layeredLayout(drawn.nodes.map((n) => n.id), drawn.edges).positions : undefined;

  const elements: ElementDefinition[] = drawn.nodes.map((n) => {
    const border = borderOf(n);
    return {
      group: 'nodes',
      data: { id: n.id, name: n.name, label: shortLabel(n), fill: fillOf(n), border: border.colour, borderWidth: border.width, kind: n.kind, status: n.status ?? 'none', freshness: n.freshness ?? 'none' },
      classes: [n.kind, n.id === centreId ? 'centre' : '', big ? '' : 'labelled'].join(' ').trim(),
      ...(positions ? { position: positions.get(n.id)! } : {}),
    };
  });
  for (const e of drawn.edges) elements.push({ group: 'edges', data: { id: `${e.source}>${e.target}`, source: e.source, target: e.target } });

  const cy = cytoscape({
    container,
    elements,
    layout: positions ? { name: 'preset', fit: true, padding: 20 } : { name: 'grid' },
    minZoom: 0.02,
    maxZoom: 3,
    boxSelectionEnabled: false,
    autoungrabify: big,
    // Big graphs: one bitmap while panning and zooming, edges hidden meanwhile.
    textureOnViewport: big,
    hideEdgesOnViewport: big,
    pixelRatio: big ? 1 : 'auto',
    style: [
      {
        selector: 'node',
        style: {
          'background-color': 'data(fill)',
          'border-color': 'data(border)',
          'border-width': 'data(borderWidth)',
          'font-size': 10,
          'min-zoomed-font-size': 7,
          color: '#1d2330',
          'text-valign': 'bottom',
          'text-margin-y': 3,
        },
      },
      { selector: 'node.labelled', style: { label: 'data(label)' } },
      { selector: 'node.address', style: { shape: 'round-rectangle', width: 34, height: 20 } },
      { selector: 'node.pipeline', style: { shape: 'diamond', width: 14, height: 14, 'font-size': 8, color: '#6b7280' } },
      { selector: 'node.centre', style: { 'outline-width': 4, 'outline-color': '#1d2330', 'outline-offset': 2, 'font-weight': 'bold', 'font-size': 12 } as cytoscape.Css.Node },
      {
        selector: 'edge',
        style: big
          ? { width: 1, 'line-color': '#b8c0ce', 'curve-style': 'haystack', 'haystack-radius': 0 }
          : { width: 1, 'line-color': '#a9b2c3', 'target-arrow-color': '#a9b2c3', 'target-arrow-shape': 'triangle', 'arrow-scale': 0.7, 'curve-style': 'bezier' },
      },
    ],
  });
  if (!positions) {
    cy.layout({ name: 'dagre', rankDir: 'LR', nodeSep: 18, rankSep: 90, fit: true, padding: 20 } as cytoscape.LayoutOptions).run();
    // A handful of nodes is not blown up to fill the box.
    if (cy.zoom() > MAX_FIT_ZOOM) {
      cy.zoom(MAX_FIT_ZOOM);
      cy.center();
    }
  }

  if (big) {
    let labelled = false;
    const label = () => {
      const want = cy.zoom() >= LABEL_ZOOM;
      if (want === labelled) return;
      labelled = want;
      cy.batch(() => (want ? cy.nodes().addClass('labelled') : cy.nodes().removeClass('labelled')));
    };
    cy.on('zoom', label);
    label();
  }
  cy.on('tap', 'node', (event) => {
    const node = byId.get(event.target.id() as string);
    if (node) handlers.onTap(node);
  });
  // Ready once the laid-out graph is drawn (cytoscape draws on the next animation frame).
  let done = false;
  const laidOut = () => {
    if (done) return;
    done = true;
    handlers.onLaidOut();
  };
  cy.one('render', laidOut);
  requestAnimationFrame(() => requestAnimationFrame(laidOut));
  return { cy, layout, drawnNodes: drawn.nodes.length, destroy: () => cy.destroy() };
}
