"""What consumers receive: Finance exports, the usage report, the social documents and brand
pages, and the demo's summary."""
