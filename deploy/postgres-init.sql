-- Databases for Watcher's metadata and the example warehouse (compose only).
CREATE ROLE watcher LOGIN PASSWORD 'watcher';
CREATE DATABASE watcher OWNER watcher;
CREATE DATABASE shop OWNER watcher;
