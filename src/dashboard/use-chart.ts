// What every ECharts chart on the dashboard does: one instance on its box, resized with the
// window and disposed with the component; tooltips escape what they show.
import * as echarts from 'echarts/core';
import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function useChart(box: RefObject<HTMLDivElement | null>): RefObject<echarts.ECharts | undefined> {
  const chart = useRef<echarts.ECharts | undefined>(undefined);
  useEffect(() => {
    chart.current = echarts.init(box.current!, undefined, { renderer: 'canvas' });
    const resize = () => chart.current?.resize();
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.current?.dispose();
    };
  }, []);
  return chart;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
