// A section's list that pages both ways with @connection, refetched by id.
import { graphql } from "relay-runtime";

export const sectionList = graphql`
  fragment SectionList_category on Category
  @refetchable(queryName: "SectionListPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 10 }, cursor: { type: "String" }) {
    id
    name
    articles(first: $count, after: $cursor) @connection(key: "SectionList_articles") {
      edges {
        node {
          id
          ...ArticleCard_article
        }
      }
    }
  }
`;

export const sectionPage = graphql`
  query SectionListQuery($slug: String!) {
    category(slug: $slug) {
      ...SectionList_category
    }
  }
`;
