/** `CatsController.create` for a method, `CatsController` for a class: where a decorator sits. */
export function describeTarget(target: object, propertyKey?: string | symbol): string {
  const className =
    typeof target === 'function' ? target.name : (target.constructor as { name: string }).name;
  return propertyKey === undefined ? className : `${className}.${String(propertyKey)}`;
}
