// The dashboard's entry point (bundled by esbuild when the server first serves it).
import { render } from 'preact';
import { App } from './app.js';
import './style.css';

render(<App />, document.getElementById('app')!);
