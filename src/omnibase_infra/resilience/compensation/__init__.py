"""Multi-step effects that undo their completed steps when a later one fails
(``CompensatingEffect``) and their result models. Import the public names from
``omnibase_infra.resilience``."""
