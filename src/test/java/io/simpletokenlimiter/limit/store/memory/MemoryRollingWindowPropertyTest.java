package io.simpletokenlimiter.limit.store.memory;

import io.simpletokenlimiter.limit.store.LimitStore;
import io.simpletokenlimiter.limit.store.RollingWindowProperties;

class MemoryRollingWindowPropertyTest extends RollingWindowProperties {

  private final MemoryLimitStore store = new MemoryLimitStore();

  @Override
  protected LimitStore store() {
    return store;
  }

  @Override
  protected int tries() {
    return 300;
  }

  @Override
  protected int maxCharges() {
    return 200;
  }
}
