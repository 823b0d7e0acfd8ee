"""Documents drawn from loaded contracts: FSM and workflow graphs, the AsyncAPI document."""
