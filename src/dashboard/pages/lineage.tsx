// Placeholder until this page is built (issue 12).
import type { JSX } from 'preact';
import { Empty } from '../components.js';

export function LineagePage(props: { search: string }): JSX.Element {
  void props;
  return <Empty title="Not built yet" />;
}
