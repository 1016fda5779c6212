"""The test suite's shared machinery. Test modules and conftest files import from
here (and from provider and libraries), never from one another; conftest files
hold only fixtures, built on these modules."""
