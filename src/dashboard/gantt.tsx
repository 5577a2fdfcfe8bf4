// A build's nodes on dbt's thread lanes (ECharts custom series): one bar per node from dbt's
// start to end, coloured by status. Running nodes grow until now.
import { CustomChart, type CustomSeriesOption } from 'echarts/charts';
import { DataZoomComponent, GridComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { escapeHtml, useChart } from './use-chart.js';
import { duration, statusColour } from './format.js';

echarts.use([CustomChart, GridComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export interface GanttBar {
  uniqueId: string;
  lane: string;
  startMs: number;
  endMs: number;
  status: string;
  detail: string;
}

const LANE_HEIGHT = 26;

export function Gantt(props: { bars: GanttBar[]; onSelect?(uniqueId: string): void }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const chart = useChart(box);
  const lanes = [...new Set(props.bars.map((b) => b.lane))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const height = Math.max(120, lanes.length * LANE_HEIGHT + 70);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.resize({ height });
    const laneIndex = new Map(lanes.map((l, i) => [l, i]));
    const data = props.bars.map((b) => ({ value: [laneIndex.get(b.lane)!, b.startMs, b.endMs, b.status], name: b.uniqueId, itemStyle: { color: statusColour(b.status) }, detail: b.detail }));
    const series: CustomSeriesOption = {
      type: 'custom',
      encode: { x: [1, 2], y: 0 },
      data,
      renderItem: (_params, api) => {
        const lane = api.value(0) as number;
        const start = api.coord([api.value(1), lane]);
        const end = api.coord([api.value(2), lane]);
        const h = (api.size!([0, 1]) as number[])[1]! * 0.7;
        const width = Math.max(2, end[0]! - start[0]!);
        return { type: 'rect', shape: { x: start[0]!, y: start[1]! - h / 2, width, height: h }, style: api.style() };
      },
    };
    c.setOption(
      {
        animation: false,
        grid: { left: 130, right: 24, top: 10, bottom: 50 },
        tooltip: {
          formatter: (p: unknown) => {
            const item = p as { name: string; value: [number, number, number, string]; data: { detail: string } };
            const [, s, e, status] = item.value;
            return `<b>${escapeHtml(item.name)}</b><br/>${escapeHtml(status)} · ${duration((e - s) / 1000)}<br/>${escapeHtml(item.data.detail)}`;
          },
        },
        xAxis: { type: 'time' },
        yAxis: { type: 'category', data: lanes, inverse: true },
        dataZoom: [{ type: 'slider', xAxisIndex: 0, height: 18, bottom: 8 }, { type: 'inside', xAxisIndex: 0 }],
        series: [series],
      },
      { replaceMerge: ['series', 'yAxis'] },
    );
    c.off('click');
    c.on('click', (p) => props.onSelect?.((p as { name: string }).name));
  }, [props.bars, height]);

  return <div ref={box} class="gantt" style={{ height: `${height}px` }} role="img" aria-label={`Timeline of ${props.bars.length} nodes on ${lanes.length} threads`} />;
}
