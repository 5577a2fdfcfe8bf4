// Placeholder until this page is built (issue 12).
import type { JSX } from 'preact';
import { Empty } from '../components.js';

export function HealthPage(): JSX.Element {
  
  return <Empty title="Not built yet" />;
}
