"""What plugs into the host: node plugins (found through entry points, their settings
validated by their own models), the components the host starts, and the runtime's clock."""
