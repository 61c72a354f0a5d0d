import { Field, ID, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'A quote and the votes it received in this process.' })
export class Quote {
  @Field(() => ID)
  id!: string;

  @Field()
  text!: string;

  @Field()
  author!: string;

  @Field(() => Int)
  votes!: number;
}
