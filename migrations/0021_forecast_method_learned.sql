-- The learned forecast method (core/fclearn) is stored like the others.
ALTER TABLE forecasts DROP CONSTRAINT forecasts_method_check;
ALTER TABLE forecasts ADD CONSTRAINT forecasts_method_check
    CHECK (method IN ('weighted', 'category', 'historical', 'learned'));
