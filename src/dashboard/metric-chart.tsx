// One metric of a pipeline's executions over time (ECharts): a line of every execution's value
// and its anomalous executions marked as red diamonds on it.
import { LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { escapeHtml, useChart } from './use-chart.js';
import { time } from './format.js';
import type { MetricPoint, MetricSeries } from './monitoring-view.js';

echarts.use([LineChart, ScatterChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

const ANOMALY_COLOUR = '#c62828';

export function MetricChart(props: { title: string; series: MetricSeries; testId: string }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const chart = useChart(box);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const data = (points: MetricPoint[]) => points.map((p) => ({ value: [p.t, p.value], executionId: p.executionId, status: p.status }));
    c.setOption(
      {
        animation: false,
        grid: { left: 70, right: 20, top: 30, bottom: 30 },
        legend: { data: [props.title, 'anomaly'], top: 0 },
        tooltip: {
          trigger: 'item',
          formatter: (p: unknown) => {
            const item = p as { seriesName: string; data: { value: [number, number]; executionId: number; status: string } };
            const [t, v] = item.data.value;
            const mark = item.seriesName === 'anomaly' ? ' · <b>anomaly</b>' : '';
            return `Execution ${item.data.executionId} (${escapeHtml(item.data.status)})${mark}<br/>${escapeHtml(time(new Date(t).toISOString()))}<br/>${v.toLocaleString()}`;
          },
        },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', min: 0 },
        series: [
          { name: props.title, type: 'line', data: data(props.series.points), showSymbol: true, symbolSize: 6, itemStyle: { color: '#1565c0' } },
          { name: 'anomaly', type: 'scatter', data: data(props.series.anomalies), symbol: 'diamond', symbolSize: 14, itemStyle: { color: ANOMALY_COLOUR }, z: 3 },
        ],
      },
      { notMerge: true },
    );
  }, [props.series, props.title]);

  const n = props.series.points.length;
  const a = props.series.anomalies.length;
  return (
    <figure class="metric" data-testid={props.testId}>
      <div ref={box} class="chart" role="img" aria-label={`${props.title} of ${n} executions over time, ${a} anomalous`} />
      <figcaption class="muted">
        {props.title}: {n} execution{n === 1 ? '' : 's'}
        {a > 0 ? `, ${a} anomalous (red diamonds)` : ', none anomalous'}
      </figcaption>
    </figure>
  );
}
