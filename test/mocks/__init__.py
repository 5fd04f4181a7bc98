# Vendor mocks for test/mock_destination.py: one file per destination type.
